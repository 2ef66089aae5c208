// Single logout in both directions (saml-profiles §4.4). SP-initiated: a LogoutRequest ends the browser's IdP
// session — and through its end handlers the OIDC sessions — when it names a SAML participant of that
// session; otherwise it changes nothing and the SP hears UnknownPrincipal. Propagated: whenever an IdP
// session ends with its browser present (`/logout`, OIDC logout, an SP's LogoutRequest), the browser is
// walked through a chain, one SAML SP at a time: our signed LogoutRequest there, the SP's LogoutResponse back
// to our SLO endpoint (checked and matched to the request we sent), the next SP, and finally where the logout
// began (its LogoutResponse, the RP's post-logout URL, the logged-out page).
import type { Context } from 'koa';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { IdpSessionService } from '../session/service.js';
import type { IdpParticipant, IdpSession } from '../session/types.js';
import { SamlError } from './errors.js';
import type { SamlKeyStore } from './keys.js';
import type { LogoutChain, LogoutStore, SamlParticipant, StoredChain } from './logout-store.js';
import type { PostMessage, RedirectMessage } from './request-decode.js';
import { status } from './response.js';
import {
  logoutRequest,
  logoutResponse,
  logoutTickets,
  type OutgoingMessage,
  readLogoutRequest,
  readLogoutResponse,
  sloEndpoint,
} from './slo.js';
import type { SpRepository } from './sps.js';
import type { SamlUrls } from './sso.js';
import type { SamlStore } from './store.js';

/** Where the browser goes next: one of our URLs or an RP's, or a message to an SP. */
export type SloStep =
  | { kind: 'location'; location: string }
  /** `awaiting`: a hop of the chain, the ID of the LogoutRequest the SP is to answer. */
  | { kind: 'message'; message: OutgoingMessage; awaiting?: string };

const isSaml = (p: IdpParticipant): p is SamlParticipant => p.protocol === 'saml';

/** The chain a browser is walking, `{server}.{chain id}` (httpOnly, Path=/, as long as a chain lives). */
export const chainCookieName = 'nextauth_saml_slo';
const chainCookiePattern = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{32})$/;

/** The server and chain of a chain cookie's value; undefined for anything else. */
export function parseChainCookie(value: string | undefined): { server: string; id: string } | undefined {
  const m = value ? chainCookiePattern.exec(value) : null;
  return m?.[1] && m[2] ? { server: m[1], id: m[2] } : undefined;
}

export function createSlo(deps: {
  urls: SamlUrls;
  secretKey: string;
  sps: SpRepository;
  keys: SamlKeyStore;
  store: SamlStore;
  logouts: LogoutStore;
  sessions: IdpSessionService;
  clock: Clock;
  random: Random;
  logger: Logger;
}) {
  const { urls, sps, keys, store, logouts, sessions, clock, random, logger } = deps;
  const tickets = logoutTickets(deps.secretKey, clock);
  const chainUrl = (server: string, id: string) => `/saml/${server}/slo/next?c=${id}`;

  const record = (
    server: string,
    chain: LogoutChain,
    p: SamlParticipant,
    outcome: LogoutChain['outcomes'][number],
  ) => {
    logger.info(
      {
        event: 'saml_slo_outcome',
        server,
        session: chain.sessionId,
        sp: p.spEntityId,
        outcome: outcome.outcome,
        ...(outcome.status !== undefined && { status: outcome.status }),
      },
      'SAML SP logout outcome',
    );
    return { ...chain, outcomes: [...chain.outcomes, outcome] };
  };

  /** Starts a chain for the SAML participants of an ended session; its first URL, or undefined if none. */
  const begin = async (
    server: string,
    session: IdpSession,
    participants: IdpParticipant[],
    finish: LogoutChain['finish'],
  ): Promise<string | undefined> => {
    const queue = participants.filter(isSaml);
    if (queue.length === 0) return undefined;
    const id = Buffer.from(random.bytes(24)).toString('base64url');
    await logouts.create(id, server, {
      sessionId: session.id,
      userid: session.userid,
      queue,
      outcomes: [],
      finish,
      done: false,
    });
    return chainUrl(server, id);
  };

  /** The last step: where the logout began. */
  const finishStep = async (server: string, chain: LogoutChain): Promise<SloStep | undefined> => {
    const { finish } = chain;
    if (finish.kind === 'url') return { kind: 'location', location: finish.url };
    const sp = await sps.get(server, finish.spEntityId);
    if (!sp || !sloEndpoint(sp)) return undefined;
    const message = logoutResponse({
      idpEntityId: urls.entityId(server),
      sp,
      inResponseTo: finish.inResponseTo,
      success: true,
      relayState: finish.relayState,
      now: clock.now(),
      keys: await keys.get(server),
      random,
    });
    // The end of the chain, not a hop: nothing comes back, so a plain redirect.
    return message.kind === 'redirect'
      ? { kind: 'location', location: message.location }
      : { kind: 'message', message };
  };

  /**
   * One step of the chain: an answer still awaited counts as `no_answer` (the browser came back without it),
   * the next SP with an SLO endpoint gets its LogoutRequest, and after the last the logout's own end.
   */
  const advance = async (stored: StoredChain, unreachedId?: string): Promise<SloStep | undefined> => {
    const { server } = stored;
    let chain = stored.chain;
    if (chain.done) return undefined;
    // The hop page's timer names the request it gave up on; the chain has moved on if that is not the awaited one.
    if (unreachedId !== undefined && chain.awaiting?.requestId !== unreachedId) return undefined;
    if (chain.awaiting) {
      const { participant } = chain.awaiting;
      const { awaiting: _a, ...rest } = chain;
      chain = record(server, rest, participant, {
        spEntityId: participant.spEntityId,
        outcome: unreachedId !== undefined ? 'unreached' : 'no_answer',
      });
    }
    const queue = [...chain.queue];
    for (let p = queue.shift(); p; p = queue.shift()) {
      const sp = await sps.get(server, p.spEntityId);
      const endpoint = sp ? sloEndpoint(sp) : undefined;
      if (!sp || !endpoint) {
        chain = record(server, { ...chain, queue }, p, {
          spEntityId: p.spEntityId,
          outcome: sp ? 'no_slo_endpoint' : 'unknown_sp',
        });
        continue;
      }
      const request = logoutRequest({
        idpEntityId: urls.entityId(server),
        endpoint,
        participant: p,
        now: clock.now(),
        keys: await keys.get(server),
        random,
      });
      const next = { ...chain, queue, awaiting: { participant: p, requestId: request.id } };
      if (!(await logouts.update(stored, next))) return undefined;
      return { kind: 'message', message: request.message, awaiting: request.id };
    }
    const { awaiting: _a, ...last } = chain;
    const done = { ...last, queue: [], done: true };
    if (!(await logouts.update(stored, done))) return undefined;
    logger.info(
      { event: 'saml_slo_done', server, session: chain.sessionId, sps: done.outcomes.length },
      'SAML logout chain finished',
    );
    return finishStep(server, done);
  };

  const slo = {
    /** Checks an SP's LogoutRequest and uses its ID up; returns where the browser continues. */
    async start(server: string, message: RedirectMessage | PostMessage): Promise<string> {
      const info = await readLogoutRequest(message, {
        sloUrl: urls.slo(server),
        clock,
        findSp: (entityId) => sps.get(server, entityId),
      });
      const sp = await sps.get(server, info.spEntityId);
      if (!sp || !sloEndpoint(sp)) throw new SamlError('unsupported', 'The SP has no SingleLogoutService');
      if (!(await store.useRequestId(server, sp.entityId, info.id)))
        throw new SamlError('replayed', 'This LogoutRequest was used before');
      return `/saml/${server}/slo/done?t=${tickets.issue(server, info)}`;
    },

    /**
     * Ends the session when the request names this browser's; then the other SAML SPs of the session (the
     * chain) and last the LogoutResponse — at once when there is nobody else to tell.
     */
    async finish(ctx: Context, server: string, ticket: string): Promise<SloStep | undefined> {
      const info = tickets.open(server, ticket);
      if (!info) return undefined;
      const sp = await sps.get(server, info.spEntityId);
      if (!sp) return undefined;
      const session = await sessions.current(ctx, server);
      const participant = session
        ? (await sessions.participants(session)).find(
            (p) =>
              p.protocol === 'saml' &&
              p.spEntityId === sp.entityId &&
              p.nameId === info.nameId &&
              (info.sessionIndexes.length === 0 || info.sessionIndexes.includes(p.sessionIndex)),
          )
        : undefined;
      if (session && participant) {
        const ended = await sessions.end(session, 'saml_logout', { ctx, except: participant });
        logger.info({ event: 'saml_logout', server, sp: sp.entityId, userid: session.userid }, 'SAML logout');
        // The other SAML SPs of the session (not those of the same SP: it asked, it knows).
        const others = ended.filter((p) => isSaml(p) && p.spEntityId !== sp.entityId);
        const first = await begin(server, session, others, {
          kind: 'saml',
          spEntityId: sp.entityId,
          inResponseTo: info.id,
          ...(info.relayState !== undefined && { relayState: info.relayState }),
        });
        if (first) return { kind: 'location', location: first };
      } else {
        logger.info(
          { event: 'saml_logout_unmatched', server, sp: sp.entityId },
          'LogoutRequest names no session here',
        );
      }
      return {
        kind: 'message',
        message: logoutResponse({
          idpEntityId: urls.entityId(server),
          sp,
          inResponseTo: info.id,
          success: participant !== undefined,
          relayState: info.relayState,
          now: clock.now(),
          keys: await keys.get(server),
          random,
        }),
      };
    },

    /** The front channel the session service calls after an end with the browser present. */
    begin: (session: IdpSession, participants: IdpParticipant[], returnTo: string) =>
      begin(session.server, session, participants, { kind: 'url', url: returnTo }),

    /**
     * The browser at `/slo/next`: the chain's next step; undefined when it is unknown, over or raced.
     * `unreachedId`: the hop page's timer gave up on this request (the SP never answered the browser).
     */
    async next(server: string, id: string, unreachedId?: string): Promise<SloStep | undefined> {
      const stored = await logouts.get(server, id);
      return stored ? advance(stored, unreachedId) : undefined;
    },

    /** Whether the chain is live and not walked to its end (the chain cookie may resume it). */
    async resumable(server: string, id: string): Promise<boolean> {
      const stored = await logouts.get(server, id);
      return stored !== undefined && !stored.chain.done;
    },

    /** A chain that expired before the browser walked it: every SP it had not heard from stays unreached. */
    expire(server: string, chain: LogoutChain): void {
      const left = [...(chain.awaiting ? [chain.awaiting.participant] : []), ...chain.queue];
      let walked = chain;
      for (const p of left)
        walked = record(server, walked, p, { spEntityId: p.spEntityId, outcome: 'unreached' });
      logger.info(
        { event: 'saml_slo_expired', server, session: chain.sessionId, unreached: left.length },
        'SAML logout chain expired before its end',
      );
    },

    /**
     * An SP's LogoutResponse to our LogoutRequest: checked, its ID used once, matched to the request this SP
     * is awaited for; its outcome recorded, and the browser sent on along the chain.
     */
    async answer(server: string, message: RedirectMessage | PostMessage): Promise<string> {
      const info = await readLogoutResponse(message, {
        sloUrl: urls.slo(server),
        clock,
        findSp: (entityId) => sps.get(server, entityId),
      });
      if (!(await store.useRequestId(server, info.spEntityId, info.id)))
        throw new SamlError('replayed', 'This LogoutResponse was used before');
      const stored = await logouts.awaiting(server, info.inResponseTo);
      const awaiting = stored?.chain.awaiting;
      if (!stored || !awaiting || awaiting.participant.spEntityId !== info.spEntityId)
        throw new SamlError('unexpected_response', 'InResponseTo names no LogoutRequest awaiting this SP');
      const { awaiting: _a, ...rest } = stored.chain;
      const success = info.status === status.success;
      const chain = record(server, rest, awaiting.participant, {
        spEntityId: info.spEntityId,
        outcome: success ? 'success' : 'failed',
        ...(!success && { status: info.status.slice(0, 256) }),
      });
      // Of two answers racing, one moves the chain on; the other is a replay of a settled request.
      if (!(await logouts.update(stored, chain)))
        throw new SamlError('replayed', 'This LogoutRequest was answered before');
      return chainUrl(server, stored.id);
    },
  };
  return slo;
}

export type Slo = ReturnType<typeof createSlo>;
