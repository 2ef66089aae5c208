// What one service offers another (DESIGN.md §3: only through public interfaces). Embedded mode passes the
// in-process implementations; distributed mode will pass HTTP clients of the same interfaces.
import type { JWK } from 'jose';

export interface SfsPeer {
  /** `iss` of the SFS's attestations. */
  readonly issuer: string;
  /** The keys whose attestations NS trusts (JWKs with `kid`). */
  publicKeys(): Promise<JWK[]>;
  /** Registers (or updates) an NS virtual server at the SFS by its global id, with its PIN policy. */
  registerServer(input: {
    id: string;
    policy?: {
      maxAttempts?: number;
      lockoutSeconds?: number;
      maxLockoutSeconds?: number;
      blockAfterLockouts?: number;
    };
  }): Promise<void>;
}

/** A browser's NS login session as a front door (the IdP interaction) sees it. */
export interface NsBrowserSession {
  /**
   * NS's internal id of the session (not its nonce; audit and business events name it): what NS's
   * `ns_logout` message names (auth-server/common/idp-session-ends.ts).
   */
  id?: string;
  /** `waiting | scanned | loggedin | declined | expired | loggedout` (expiry already applied). */
  state: string;
  loggedin: boolean;
  /** Set once `loggedin`. */
  userid?: string;
  accountid?: string;
  /** Random handle of this login (nextAuth `hsid`): names the login result, set once `loggedin`. */
  hsid?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  loggedInAt?: number;
  expiresAt: number;
  /** Set once `loggedin`: how the phone confirmed (the SFS attestation's method). */
  method?: 'pin' | 'bio';
}

export interface NsPeer {
  /** The virtual server of that name, or undefined. */
  findServer(name: string): Promise<{ name: string; displayName: string } | undefined>;
  /** Name of the httpOnly cookie in which the login page keeps the NS session nonce of `server`. */
  browserSessionCookieName(server: string): string;
  /** The session the nonce names if it belongs to `server`; undefined for unknown or foreign nonces. */
  browserSessionStatus(server: string, nonce: string): Promise<NsBrowserSession | undefined>;
  /** True while `userid` has at least one account at `server` that is not blocked. */
  userActive(server: string, userid: string): Promise<boolean>;
  /** The NS user record of `userid` at `server` (name, email, groups, attributes), or undefined. */
  userProfile(server: string, userid: string): Promise<NsUserProfile | undefined>;
  /**
   * `userActive` and `userProfile` in one call, for token grants that need both: undefined unless `userid`
   * has an account at `server` that is not blocked; `profile` is absent when NS keeps no user record.
   */
  activeUser(server: string, userid: string): Promise<{ profile?: NsUserProfile } | undefined>;
  /**
   * Ends (`loggedout`) the browser's login session that the nonce names, if it belongs to `server` and is
   * still active; true when it ended one. Recorded as `session.logout` by `actor`.
   */
  endBrowserSession(server: string, nonce: string, actor: string): Promise<boolean>;
  /**
   * SFS tells NS that wrong PINs locked (for a while) or blocked (for good) an app instance at one of
   * NS's virtual servers, which only the phone would otherwise learn. Ids NS does not know are ignored.
   */
  reportPinLockout(report: PinLockoutReport): Promise<void>;
  /**
   * Who an `X-apikey` presented to the IdP management API is, seen from virtual server `server`: NS checks
   * the key as its own REST API does (root key in constant time, stored keys by hash). Undefined for a
   * missing, unknown or revoked key.
   */
  authenticateApiKey(presented: string | undefined, server: string): Promise<NsKeyPrincipal | undefined>;
  /**
   * Appends an IdP administration event to NS's audit log (DESIGN.md §6: every admin action audited).
   * Throws when it cannot be recorded, so the caller can roll its change back.
   */
  recordAdminEvent(event: IdpAdminEvent): Promise<void>;
  /**
   * Appends the start or the end of an IdP session (DESIGN.md §4) to NS's audit log: the IdP has none of its
   * own, and an operator reads one log for "who was logged in where". Throws when it cannot be recorded.
   */
  recordIdpSessionEvent(event: IdpSessionEvent): Promise<void>;
  /**
   * OIDC CIBA (issue #11): turns a backchannel authentication request into an NS transaction delivered to
   * the user's phone(s), signed there like any other. Refusals are results, not errors (they cross HTTP).
   */
  startCibaTransaction(request: NsCibaRequest): Promise<NsCibaStarted>;
  /** A CIBA transaction of `server` as it stands; undefined when there is none (or not of that server). */
  cibaTransactionStatus(server: string, tid: string): Promise<NsCibaStatus | undefined>;
}

/** A CIBA request as NS makes a transaction of it. */
export interface NsCibaRequest {
  server: string;
  userid: string;
  /** Who asks, as the user reads it: the client's name, else its id. */
  client: { id: string; name: string };
  bindingMessage: string;
  /** One RFC 9396 object of a type the server registered; null asks to confirm a login (`ciba-login`). */
  authorizationDetails: Record<string, unknown> | null;
  locale?: string;
  /** The CIBA request's life: the transaction never outlives it. */
  expiresInSeconds: number;
}

export const nsCibaRefusals = [
  'unknown_server',
  'unknown_user',
  'unknown_type',
  'invalid_values',
  'push_unavailable',
] as const;

export type NsCibaStarted =
  | { ok: true; tid: string; expiresAt: number }
  | { ok: false; error: (typeof nsCibaRefusals)[number]; description: string };

export interface NsCibaStatus {
  status: 'new' | 'approved' | 'declined' | 'expired';
  userid: string;
  /** The account whose phone answered. */
  account: string | null;
  /** Approved: how the phone confirmed (the attestation's method). */
  method: 'pin' | 'bio' | null;
  /** Epoch milliseconds of the answer. */
  answeredAt: number | null;
  /** The RFC 9396 object that was signed, null for a login confirmation. */
  authorizationDetails: Record<string, unknown> | null;
}

/** An API key as the IdP management API sees it. */
export interface NsKeyPrincipal {
  /** `root` for the configured root key, else the stored key's id (for the audit log). */
  keyId: string;
  /** NS roles (`servers`, `root`, …); `root` holds every role. */
  roles: string[];
  /** The server exists and the key may act on it (root key: any server; stored key: its own). */
  mayActOnServer: boolean;
}

/** The IdP's administrative changes that NS records. */
export const idpAdminEventTypes = [
  'oidc_client.created',
  'oidc_client.updated',
  'oidc_client.deleted',
  'oidc_keys.rotated',
  'saml_keys.rotated',
  'saml_sp.created',
  'saml_sp.updated',
  'saml_sp.deleted',
] as const;

export interface IdpAdminEvent {
  type: (typeof idpAdminEventTypes)[number];
  /** Virtual server name. */
  server: string;
  /** Key id of the API key that acted. */
  actor: string;
  subject: { kind: 'oidc_client' | 'saml_sp' | 'server'; id: string };
  ip: string | null;
  userAgent: string | null;
  /** Ids and names only, never a secret (NS refuses credential-like keys). */
  details?: Record<string, string | number | boolean | null | string[]>;
}

export const idpSessionEventTypes = ['idp_session.started', 'idp_session.ended'] as const;

/** An IdP session starting or ending, as NS's audit log records it: ids only, never the cookie. */
export interface IdpSessionEvent {
  type: (typeof idpSessionEventTypes)[number];
  /** Virtual server name. */
  server: string;
  /** The IdP session's opaque id (not its cookie). */
  session: string;
  userid: string;
  /** The NS account whose phone confirmed the login. */
  account: string;
  /** `started`: RFC 8176 values of the login. */
  amr?: string[];
  /** `ended`: why (`logout`, `oidc_logout`, `saml_logout`, `ns_logout`, `account_removed`, `replaced`, …). */
  cause?: string;
  /** The browser's request that started or ended it; null for an end from a back channel. */
  ip: string | null;
  userAgent: string | null;
}

/** An NS user's profile as front doors turn it into claims. */
export interface NsUserProfile {
  userid: string;
  name: string | null;
  email: string | null;
  groups: string[];
  attributes: Record<string, string>;
}

export interface PinLockoutReport {
  /** Global server id `{NS URL}/ns/{name}` as registered at the SFS. */
  serverId: string;
  appInstanceId: string;
  lockout: 'locked' | 'blocked';
  /** For `locked`: seconds until the next attempt is allowed. */
  retryAfterSeconds?: number;
}

export interface Peers {
  sfs?: SfsPeer;
  ns?: NsPeer;
}

/** An app instance as a sender must know it to seal a message for it (protocol/mobile/mc-seal.ts). */
export interface McRecipient {
  instanceId: string;
  /** The instance's ECDH P-256 key: seal for this one, never for the channel (signing) key. */
  encryptionKey: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

/**
 * The MC as NS sees it (in-process in embedded mode; an HTTP client of the same interface later, #13).
 * NS seals every message itself (`sealMcMessage` for `recipient(...).encryptionKey`), so MC stores and
 * relays ciphertext it cannot read. Failures are errors with a stable `code` (`unknown_instance`,
 * `wrong_recipient`, `invalid_expiry`, `message_too_large`, `mailbox_full`, `duplicate_message`, `invalid_request`).
 */
export interface McPeer {
  /** The instance registered under that app-instance key (RFC 7638 thumbprint) or id; undefined if none. */
  recipient(
    ref: { instanceId: string } | { instanceKeyThumbprint: string },
  ): Promise<McRecipient | undefined>;
  /**
   * Stores a sealed message in the instance's mailbox and delivers it to a live subscription. The id and
   * expiry are those of the sealed header (the sender chose them, the AAD binds them); a newer message with
   * the same `collapseId` replaces an unacknowledged older one.
   */
  post(input: {
    instanceId: string;
    sealed: string;
    collapseId?: string;
  }): Promise<{ id: string; expiresAt: number }>;
}

export interface Peers {
  mc?: McPeer;
}
