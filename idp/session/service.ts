// The IdP session service (the `IdpSessions` contract of types.ts): sessions made from an NS login, kept in
// the IdP database behind a cookie that holds only a random secret (its SHA-256 is stored), with idle and
// absolute timeouts, participants that hear when the session ends, and an `end` that runs their handlers
// exactly once however many instances race to end it (DESIGN.md §4, §6).
import { hash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import { z } from 'zod';
import { type Clock, type Random, randomToken } from '../../auth-server/common/clock.js';
import type { NsSessionEnd } from '../../auth-server/common/idp-session-ends.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { IdpSessionEvent, NsPeer } from '../../auth-server/common/peers.js';
import {
  clearIdpCookie,
  cookieSecretPattern,
  type IdpCookieOptions,
  idpCookieName,
  serializeIdpCookie,
} from './cookie.js';
import { LiveSessionCache } from './live-cache.js';
import { createIdpSessionRepository, type SessionRecord } from './repository.js';
import type {
  IdpEndCause,
  IdpEndHandler,
  IdpLogin,
  IdpParticipant,
  IdpSession,
  IdpSessions,
} from './types.js';

/** `current` writes the new idle expiry at most this often: no database write per request. */
export const touchIntervalMs = 60_000;

export interface IdpSessionServiceDeps {
  knex: Knex;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** `NEXTAUTH_PUBLIC_URL`: https makes the cookie `Secure`. */
  publicUrl: string;
  /** `NEXTAUTH_COOKIE_DOMAIN`: undefined keeps the cookie host-only. */
  cookieDomain?: string;
  /** An unused session ends after this long. */
  idleSeconds: number;
  /** Any session ends this long after its login. */
  maxSeconds: number;
  /**
   * Runs once after the handlers of the winning `end` (e.g. ending the browser's NS login session); its
   * errors are logged like a handler's.
   */
  afterEnd?: (session: IdpSession, cause: IdpEndCause, ctx: Context | undefined) => Promise<void>;
  /**
   * Records a start or an end in NS's audit log (`NsPeer.recordIdpSessionEvent`). Best effort: the login or
   * logout has happened, and an audit log that cannot be reached must not undo it or lock the user out.
   */
  recordEvent?: NsPeer['recordIdpSessionEvent'];
  /**
   * Reuse of live sessions by `current` for `ttlMs` (forward-auth asks for every request). Only with
   * `announceEnd`, which tells the other instances (KV bus) to drop an ended session at once; they call
   * `forget`. Without it every `current` reads the database.
   */
  liveCache?: { ttlMs: number; announceEnd: (id: string) => Promise<void> };
}

/**
 * A protocol whose participants can only be told through the browser (SAML front-channel SLO): given the
 * participants of an ended session still to be told and where the browser goes afterwards, the URL to send
 * the browser to first — or undefined when none of them needs it.
 */
export type IdpFrontChannel = (
  session: IdpSession,
  participants: IdpParticipant[],
  returnTo: string,
) => Promise<string | undefined>;

export interface IdpSessionService extends IdpSessions {
  /** Registers the front channel of a protocol (one each). */
  onFrontChannel(protocol: IdpParticipant['protocol'], frontChannel: IdpFrontChannel): void;
  /**
   * After `end` with a browser: where to send the browser so the front-channel participants among
   * `participants` (what `end` returned, minus the caller's own) hear of it before it reaches `returnTo`.
   * Undefined: go to `returnTo` directly.
   */
  frontChannel(
    session: IdpSession,
    participants: IdpParticipant[],
    returnTo: string,
  ): Promise<string | undefined>;
  /** The live sessions `participant` has joined (e.g. the one an OIDC session belongs to at its logout). */
  sessionsOf(server: string, participant: IdpParticipant): Promise<IdpSession[]>;
  /** Clears the browser's cookie for `server` (e.g. one that names no live session any more). */
  clearCookie(ctx: Context, server: string): void;
  /** Deletes sessions that ended or expired before `now` minus a grace period; returns how many. */
  sweep(): Promise<number>;
  /** Drops a session from the live cache (another instance ended it). */
  forget(id: string): void;
  /**
   * Ends the sessions an NS event names (an NS logout of the login session they came from, or the account
   * deleted) with that cause; returns how many it found not yet ended (of instances hearing the same event
   * at once, `end`'s race lets one run the handlers of each).
   */
  endFromNs(end: NsSessionEnd): Promise<number>;
}

// One-shot: forward-auth hashes a cookie per request, and a Hash object per call shows in its profile.
const sha256Hex = (value: string) => hash('sha256', value, 'hex');

const participantSchema: z.ZodType<IdpParticipant> = z.union([
  z.object({ protocol: z.literal('oidc'), sessionUid: z.string() }),
  z.object({
    protocol: z.literal('saml'),
    spEntityId: z.string(),
    nameId: z.string(),
    nameIdFormat: z.string(),
    sessionIndex: z.string(),
  }),
]);

/** What makes two participants the same one (a re-join is a no-op): not the SAML NameID, which may change. */
export function participantKey(p: IdpParticipant): string {
  const identity = p.protocol === 'oidc' ? ['oidc', p.sessionUid] : ['saml', p.spEntityId, p.sessionIndex];
  return sha256Hex(JSON.stringify(identity));
}

export function createIdpSessionService(deps: IdpSessionServiceDeps): IdpSessionService {
  const { clock, random } = deps;
  const repository = createIdpSessionRepository(deps.knex);
  const logger = deps.logger.child({ component: 'idp-session' });
  const cookieOptions: IdpCookieOptions = {
    secure: deps.publicUrl.startsWith('https://'),
    domain: deps.cookieDomain,
  };
  const idleMs = deps.idleSeconds * 1000;
  const maxMs = deps.maxSeconds * 1000;
  const handlers = new Map<IdpParticipant['protocol'], IdpEndHandler[]>();
  const frontChannels = new Map<IdpParticipant['protocol'], IdpFrontChannel>();

  const toSession = (r: SessionRecord): IdpSession => ({
    id: r.id,
    server: r.server,
    userid: r.userid,
    accountId: r.accountId,
    authTime: Math.floor(r.authTime / 1000),
    amr: r.amr,
    acr: r.acr,
    createdAt: Math.floor(r.createdAt / 1000),
    expiresAt: Math.floor(Math.min(r.idleExpiresAt, r.absoluteExpiresAt) / 1000),
    ...(r.nsSessionId !== null ? { nsSession: r.nsSessionId } : {}),
  });

  const live = (r: SessionRecord, now: number) =>
    r.endedAt === null && now < r.idleExpiresAt && now < r.absoluteExpiresAt;

  /** The stored session the browser's cookie for `server` names, live or not. */
  const cookieRecord = async (ctx: Context, server: string): Promise<SessionRecord | undefined> => {
    // Unsigned: the secret is the proof (oidc-provider's koa app has keys and would look for a `.sig`).
    const secret = ctx.cookies.get(idpCookieName(server), { signed: false });
    if (secret === undefined || !cookieSecretPattern.test(secret)) return undefined;
    const record = await repository.findBySecretHash(sha256Hex(secret));
    return record?.server === server ? record : undefined;
  };

  const audit = async (
    type: IdpSessionEvent['type'],
    session: Pick<IdpSession, 'id' | 'server' | 'userid' | 'accountId' | 'amr'>,
    ctx: Context | undefined,
    cause?: IdpEndCause,
  ) => {
    if (!deps.recordEvent) return;
    try {
      await deps.recordEvent({
        type,
        server: session.server,
        session: session.id,
        userid: session.userid,
        account: session.accountId,
        ...(type === 'idp_session.started' ? { amr: session.amr } : {}),
        ...(cause ? { cause } : {}),
        // Contexts made by other front doors' back channels may carry no request.
        ip: ctx?.ip ? ctx.ip.slice(0, 64) : null,
        userAgent: ctx?.get?.('user-agent')?.slice(0, 1024) || null,
      });
    } catch (err) {
      logger.error({ err, session: session.id, type }, 'IdP session event not recorded in the audit log');
    }
  };

  const cache = deps.liveCache ? new LiveSessionCache(deps.liveCache.ttlMs) : undefined;
  /**
   * Reads of the cache's misses in flight, by cookie hash: when an entry expires under load, the requests
   * of that browser share one read instead of each waiting for its own. Emptied by every end, so a request
   * that starts after an end never joins a read that started before it.
   */
  const reads = new Map<string, Promise<SessionRecord | undefined>>();
  /** Idle-timeout writes in flight, by session id: one per minute and session, not one per waiting request. */
  const touches = new Map<string, Promise<boolean>>();
  /** After a row's `ended_at` was set: gone from this instance's cache now, from the others' at once. */
  const ended = async (id: string) => {
    if (!cache || !deps.liveCache) return;
    cache.forget(id, { now: clock.now() });
    reads.clear();
    await deps.liveCache.announceEnd(id).catch((err: unknown) => {
      logger.warn({ err, session: id }, 'IdP session end not announced to other instances');
    });
  };

  /** `cookieRecord` through the live cache: only live rows are kept, ended ones are forgotten at once. */
  const cachedCookieRecord = async (ctx: Context, server: string, now: number) => {
    const secret = ctx.cookies.get(idpCookieName(server), { signed: false });
    if (secret === undefined || !cookieSecretPattern.test(secret)) return undefined;
    const secretHash = sha256Hex(secret);
    const hit = cache?.get(secretHash, now);
    if (hit) return hit.server === server ? hit : undefined;
    let read = reads.get(secretHash);
    if (!read) {
      read = repository.findBySecretHash(secretHash).then((record) => {
        if (record && live(record, clock.now())) cache?.set(record, clock.now());
        return record;
      });
      const shared = read;
      reads.set(secretHash, shared);
      // Only this read's own entry: an end may have emptied the map and a newer read taken the key.
      const done = () => {
        if (reads.get(secretHash) === shared) reads.delete(secretHash);
      };
      shared.then(done, done);
    }
    const record = await read;
    return record?.server === server ? record : undefined;
  };

  /** Moves the idle timeout of a live session (false: it ended meanwhile); concurrent callers share one write. */
  const touch = (record: SessionRecord, now: number): Promise<boolean> => {
    let write = touches.get(record.id);
    if (!write) {
      const idleExpiresAt = Math.min(now + idleMs, record.absoluteExpiresAt);
      write = repository.touch(record.id, now, idleExpiresAt).then((touched) => {
        if (touched) {
          // The cached row is this object: later requests see the moved expiry too.
          record.lastSeenAt = now;
          record.idleExpiresAt = idleExpiresAt;
        }
        return touched;
      });
      const shared = write;
      touches.set(record.id, shared);
      const done = () => touches.delete(record.id);
      shared.then(done, done);
    }
    return write;
  };

  const runHandlers = async (
    session: IdpSession,
    participants: IdpParticipant[],
    cause: IdpEndCause,
    except: string | undefined,
    browser: boolean,
  ) => {
    const jobs = participants
      .filter((p) => participantKey(p) !== except)
      .flatMap((p) => (handlers.get(p.protocol) ?? []).map((handler) => ({ p, handler })));
    const results = await Promise.allSettled(
      jobs.map(({ p, handler }) => handler(session, p, cause, { browser })),
    );
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        // One relying party that cannot be told must not keep the others logged in.
        logger.error(
          { err: result.reason, session: session.id, protocol: jobs[i]?.p.protocol, cause },
          'IdP session end handler failed',
        );
      }
    });
  };

  const service: IdpSessionService = {
    cookieName: idpCookieName,

    async establish(ctx, server, login: IdpLogin) {
      const previous = await cookieRecord(ctx, server);
      const now = clock.now();
      const secret = randomToken(random, 32);
      const absoluteExpiresAt = now + maxMs;
      const record = {
        id: randomToken(random, 16),
        server,
        secretHash: sha256Hex(secret),
        userid: login.userid,
        accountId: login.accountId,
        amr: [...login.amr],
        acr: login.acr,
        authTime: login.authTime * 1000,
        createdAt: now,
        lastSeenAt: now,
        idleExpiresAt: Math.min(now + idleMs, absoluteExpiresAt),
        absoluteExpiresAt,
        nsSessionId: login.nsSession ?? null,
      };
      await repository.insert(record);
      ctx.append(
        'Set-Cookie',
        serializeIdpCookie(idpCookieName(server), secret, deps.maxSeconds, cookieOptions),
      );
      const session = toSession({ ...record, endedAt: null, endCause: null });
      if (previous && live(previous, now)) {
        if (previous.userid === login.userid && previous.accountId === login.accountId) {
          // A fresh login of the same user (step-up, prompt=login): the relying parties stay with it.
          if (await repository.markEnded(previous.id, now, 'replaced')) {
            await ended(previous.id);
            await repository.moveParticipants(previous.id, record.id);
            await audit('idp_session.ended', toSession(previous), ctx, 'replaced');
          }
        } else {
          // Another user on this browser: whoever knew the previous one must hear that it ended.
          await service.end(toSession(previous), 'replaced');
        }
      }
      logger.info({ session: record.id, server, userid: login.userid }, 'IdP session established');
      await audit('idp_session.started', session, ctx);
      return session;
    },

    async current(ctx, server) {
      const now = clock.now();
      const record = cache ? await cachedCookieRecord(ctx, server, now) : await cookieRecord(ctx, server);
      if (!record || !live(record, now)) return undefined;
      if (now - record.lastSeenAt >= touchIntervalMs && !(await touch(record, now))) {
        cache?.forget(record.id);
        return undefined;
      }
      return toSession(record);
    },

    async join(session, participant) {
      const parsed = participantSchema.parse(participant);
      await repository.addParticipant(
        session.id,
        { key: participantKey(parsed), protocol: parsed.protocol, data: JSON.stringify(parsed) },
        clock.now(),
      );
    },

    async participants(session) {
      const rows = await repository.participants(session.id);
      return rows.flatMap((row) => {
        try {
          const parsed = participantSchema.safeParse(JSON.parse(row.data));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      });
    },

    async end(session, cause, options = {}) {
      const { ctx, except } = options;
      const won = await repository.markEnded(session.id, clock.now(), cause);
      // Every caller, winner or not: an instance that lost the race may still hold the row.
      await ended(session.id);
      if (ctx) {
        // Clear the cookie only when it names this session: a newer login of the browser must survive.
        const held = await cookieRecord(ctx, session.server);
        if (held?.id === session.id)
          ctx.append('Set-Cookie', clearIdpCookie(idpCookieName(session.server), cookieOptions));
      }
      if (!won) return [];
      logger.info({ session: session.id, server: session.server, cause }, 'IdP session ended');
      await audit('idp_session.ended', session, ctx, cause);
      const participants = await service.participants(session);
      await runHandlers(
        session,
        participants,
        cause,
        except ? participantKey(except) : undefined,
        ctx !== undefined,
      );
      if (deps.afterEnd) {
        await deps.afterEnd(session, cause, ctx).catch((err: unknown) => {
          logger.error({ err, session: session.id, cause }, 'IdP session after-end step failed');
        });
      }
      return participants;
    },

    clearCookie(ctx, server) {
      ctx.append('Set-Cookie', clearIdpCookie(idpCookieName(server), cookieOptions));
    },

    async sessionsOf(server, participant) {
      const now = clock.now();
      const records = await repository.findByParticipant(server, participantKey(participant));
      return records.filter((r) => live(r, now)).map(toSession);
    },

    onFrontChannel(protocol, frontChannel) {
      frontChannels.set(protocol, frontChannel);
    },

    async frontChannel(session, participants, returnTo) {
      // One protocol has a front channel today (SAML); were there more, each would chain to the next.
      let next = returnTo;
      for (const [protocol, frontChannel] of frontChannels) {
        const own = participants.filter((p) => p.protocol === protocol);
        if (own.length === 0) continue;
        next = (await frontChannel(session, own, next)) ?? next;
      }
      return next === returnTo ? undefined : next;
    },

    onEnd(protocol, handler) {
      const list = handlers.get(protocol) ?? [];
      list.push(handler);
      handlers.set(protocol, list);
    },

    async endFromNs(end) {
      const by = end.cause === 'ns_logout' ? { nsSessionId: end.nsSession } : { accountId: end.account };
      const records = await repository.findUnended(end.server, by);
      // Expired ones too: their relying parties may still hold sessions of their own.
      for (const record of records) await service.end(toSession(record), end.cause);
      return records.length;
    },

    forget(id) {
      cache?.forget(id, { now: clock.now() });
      reads.clear();
    },

    async sweep() {
      // A day of grace: an ended row still tells a replayed cookie apart from a forged one in the logs.
      return repository.sweep(clock.now() - 86_400_000);
    },
  };
  return service;
}
