// The IdP session (DESIGN.md §4 Front doors): one per browser and virtual server, made from an NS login and
// shared by OIDC, SAML and forward-auth, so SSO works across protocols and one logout ends all of them.
// This file is the contract the front doors code against; `idp/session/` implements it.
import type { Context } from 'koa';

/** The facts of one NS login (see `idp/interaction/ns-login.ts`), the stuff an IdP session is made of. */
export interface IdpLogin {
  userid: string;
  accountId: string;
  /** Seconds since the epoch: when the user confirmed on the phone. */
  authTime: number;
  /** RFC 8176, e.g. `["swk","pin"]`. */
  amr: string[];
  acr: string;
  /**
   * NS's id of the browser's login session it came from (`NsBrowserSession.id`): an NS logout of that
   * session ends the IdP session (`ns_logout`). Optional: logins that do not name it only miss that link.
   */
  nsSession?: string;
}

export interface IdpSession extends IdpLogin {
  /** Opaque id (not the cookie value: the cookie holds a secret, stored hashed). */
  id: string;
  server: string;
  /** Seconds since the epoch. */
  createdAt: number;
  /** Seconds since the epoch; the earlier of the idle and the absolute timeout. */
  expiresAt: number;
}

/** A relying party that learned about the session and must hear when it ends. */
export type IdpParticipant =
  /** An oidc-provider session of this browser (its uid), which knows its clients for back-channel logout. */
  | { protocol: 'oidc'; sessionUid: string }
  /** A SAML SP that got an assertion: what its LogoutRequest will name and what ours must name. */
  | { protocol: 'saml'; spEntityId: string; nameId: string; nameIdFormat: string; sessionIndex: string };

/**
 * Why a session ended (audit and logs). `replaced`: a login of another user on the same browser and server
 * (a same-user login keeps the participants in the new session instead).
 */
export type IdpEndCause =
  | 'logout'
  | 'oidc_logout'
  | 'saml_logout'
  | 'ns_logout'
  | 'account_removed'
  | 'account_blocked'
  | 'replaced';

/**
 * Told when a session ends, once per participant of its protocol, wherever the logout started.
 * OIDC registers one that ends the oidc-provider session and sends back-channel logout tokens; SAML one that
 * logs the SPs nobody can tell (no browser: its LogoutRequests go through the browser, see
 * IdpSessionService.frontChannel).
 */
export type IdpEndHandler = (
  session: IdpSession,
  participant: IdpParticipant,
  cause: IdpEndCause,
  /**
   * `browser`: the end came from a request of the browser (`end` was given its `ctx`), so front-channel
   * protocols can still tell this participant through it (IdpSessionService.frontChannel). Added later;
   * handlers that ignore it keep working.
   */
  how?: { browser: boolean },
) => Promise<void>;

export interface IdpSessions {
  /** Cookie name of the IdP session of `server` (named per server, DESIGN.md §6). */
  cookieName(server: string): string;
  /**
   * Creates a session for the browser of `ctx` and sets its cookie. A live session the browser had for this
   * server is replaced: of the same user (userid and account), its participants move to the new session; of
   * another user, it ends with cause `replaced` (its handlers run).
   */
  establish(ctx: Context, server: string, login: IdpLogin): Promise<IdpSession>;
  /** The live session the browser of `ctx` holds for `server`; touches its idle timeout (at most once a minute). */
  current(ctx: Context, server: string): Promise<IdpSession | undefined>;
  /** Records a participant (idempotent). */
  join(session: IdpSession, participant: IdpParticipant): Promise<void>;
  /** The participants recorded so far. */
  participants(session: IdpSession): Promise<IdpParticipant[]>;
  /**
   * Ends the session (atomically: of concurrent ends exactly one runs the handlers), clears the cookie when
   * `ctx` is given, runs the end handlers for every participant except `except` (the one that started the
   * logout), and returns the participants (all of them, `except` included). A caller that lost the race
   * (the session had ended already) gets `[]` and no handler runs; the cookie is still cleared.
   */
  end(
    session: IdpSession,
    cause: IdpEndCause,
    options?: { ctx?: Context; except?: IdpParticipant },
  ): Promise<IdpParticipant[]>;
  onEnd(protocol: IdpParticipant['protocol'], handler: IdpEndHandler): void;
}
