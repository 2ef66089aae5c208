// Session operations (the logic behind REST, the login page and the phone side), testable without HTTP.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { NotFoundError } from '../../common/db/errors.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { VirtualServer } from '../servers/model.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { SessionError } from './errors.js';
import { publishSessionState } from './events.js';
import { loggedInSessionMs, loginCodeGraceMs, loginCodeRotationMs } from './lifetimes.js';
import { type LoginCode, loginQrUri, qrPayloadVersion } from './login-code.js';
import { createLoginCodeRepository, type LoginCodeRepository } from './login-code-repository.js';
import {
  type DeclineReason,
  declineReasonSchema,
  effectiveState,
  type LoginApproval,
  type LoginStatus,
  loginApprovalSchema,
  pendingStates,
  type Session,
  sessionContextSchema,
  toLoginStatus,
} from './model.js';
import { createSessionRepository, type SessionRepository, type TransitionPatch } from './repository.js';
import { deriveLoginCode, newId, newNonce, sha256Hex } from './secrets.js';

export interface SessionServiceDeps {
  db: Knex;
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
  servers: VirtualServerRepository;
  /** Public base URL of the NS (goes into the QR so the app knows where to connect). */
  publicUrl: string;
  /**
   * Called after a logout ended a `loggedin` session (the app is told, best effort): must not throw, and
   * is not awaited by the logout's answer beyond its own bookkeeping.
   */
  onLoggedOut?: (session: Session) => Promise<void>;
}

export interface CreateSessionInput {
  /** Virtual server name, or the server as the caller has just read it (saves reading it again). */
  server: string | Pick<VirtualServer, 'id' | 'name' | 'policy'>;
  /** Of the browser that will show the QR (shown on the phone). */
  userAgent: string;
  ip: string;
  /** nextAuth `sessioninfo`, already validated (`infoTextSchema`): shown on the phone at the scan. */
  info?: string;
}

export interface SessionService {
  /** Throws NotFoundError for an unknown server. The nonce is returned once and only its hash is stored. */
  createSession(input: CreateSessionInput): Promise<{ nonce: string; session: Session }>;
  findByNonce(nonce: string): Promise<Session | undefined>;
  /** LoginStatus of the session the nonce names; SessionError `unknown_session` otherwise. */
  getStatus(nonce: string): Promise<LoginStatus>;
  /** LoginStatus by internal id (SSE re-reads); SessionError `unknown_session` otherwise. */
  statusById(sessionId: string): Promise<LoginStatus>;
  /**
   * The code for the current rotation window (the same on every instance); only while `waiting`. Pass the
   * session this nonce names when the caller has just read it (by `findByNonce`), to save reading it again.
   */
  currentLoginCode(nonce: string, loaded?: Session): Promise<LoginCode>;
  /**
   * Phone side: atomically consumes the code and moves its session `waiting → scanned`. Of N concurrent
   * redemptions exactly one succeeds; a refused redemption changes nothing. Never returns the nonce.
   * With `serverId`, a code of another virtual server is refused as `unknown_code` (and stays unused).
   */
  redeemLoginCode(code: string, options?: { serverId?: string; accountId?: string }): Promise<Session>;
  /**
   * The scanning phone's PIN got locked or blocked at the SFS: every login that account scanned and that is
   * still waiting for its confirmation ends `declined` with reason `locked` (the browser stops waiting).
   * Returns how many; a session that moved meanwhile (confirmed, declined, expired) is left as it is.
   */
  endScansOfLockedAccount(accountId: string): Promise<number>;
  /**
   * The `waiting` session of a usable code of server `serverId`, without using it up (a phone with no
   * account for the server reports that it scanned it); undefined for anything else. Changes nothing.
   */
  peekLoginCode(code: string, serverId: string): Promise<Session | undefined>;
  /**
   * `waiting|scanned → loggedin`; concurrent approve/decline: exactly one wins, the others get SessionError.
   * `session` is its id, or the session as read earlier (e.g. by `redeemLoginCode`) to save reading it
   * back: the guarded UPDATE alone decides whether the move happens, the snapshot only fills in the answer.
   */
  markLoggedIn(
    session: string | Session,
    approval: LoginApproval,
    options?: TransitionOptions,
  ): Promise<Session>;
  /**
   * `waiting|scanned → declined` ("not me" / cancel on the phone), keeping the reason (default `declined`)
   * for the LoginStatus; `session` as for markLoggedIn.
   */
  markDeclined(
    session: string | Session,
    options?: TransitionOptions & { reason?: DeclineReason },
  ): Promise<Session>;
  /** Ends the session (`loggedout`); idempotent for sessions that already ended. */
  logout(nonce: string): Promise<LoginStatus>;
  /**
   * Phone side of a push login: in one transaction `consume(trx, now)` uses the push request up (throwing
   * leaves everything as it was) and the session moves `waiting → scanned` for `accountId`, as a scan
   * would; a session that cannot move rolls the consumption back.
   */
  scanWith(
    sessionId: string,
    accountId: string,
    consume: (trx: Knex.Transaction, now: number) => Promise<void>,
  ): Promise<Session>;
}

export interface TransitionOptions {
  /**
   * Runs inside the transition's transaction once it has won, with the session as it now is (audit record,
   * account bookkeeping): if it throws, the session stays as it was and the error is the caller's.
   */
  inTransaction?: (session: Session, trx: Knex.Transaction) => Promise<void>;
}

/** base64url of 16 bytes: anything else cannot be one of our codes, so it is refused before any query. */
const codeShape = /^[A-Za-z0-9_-]{22}$/;

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { db, kv, clock, random, logger, servers } = deps;
  const sessions: SessionRepository = createSessionRepository(db);
  const codes: LoginCodeRepository = createLoginCodeRepository(db);
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');

  const loadById = async (sessionId: string): Promise<Session> => {
    try {
      return await sessions.load(sessionId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new SessionError('unknown_session');
      throw err;
    }
  };

  const requireByNonce = async (nonce: string): Promise<Session> => {
    const session = await sessions.findByNonceHash(sha256Hex(nonce));
    if (!session) throw new SessionError('unknown_session');
    return session;
  };

  /** After a refused transition: the clearest reason, read from storage. */
  const refusal = async (sessionId: string, now: number): Promise<SessionError> => {
    const session = await loadById(sessionId);
    return effectiveState(session, now) === 'expired'
      ? new SessionError('session_expired')
      : new SessionError('invalid_state', `The login session is ${session.state}`);
  };

  /** Tells listeners (SSE streams on any instance) the new status, so they need not read it back. */
  const changed = async (session: Session, now: number): Promise<Session> => {
    await publishSessionState(kv, logger, session.id, toLoginStatus(session, now));
    return session;
  };

  /**
   * A session after a move out of a pending state that this caller won, from an earlier read of it: the
   * guarded UPDATE set exactly `patch` and `updated_at`, and the only move that can have come between the
   * read and the win is `waiting → scanned`, which changes nothing else. So this is the stored row.
   */
  const afterTransition = (session: Session, patch: TransitionPatch, now: number): Session => ({
    ...session,
    state: patch.state,
    ...(patch.userid !== undefined ? { userid: patch.userid } : {}),
    ...(patch.accountId !== undefined ? { accountId: patch.accountId } : {}),
    ...(patch.hsid !== undefined ? { hsid: patch.hsid } : {}),
    ...(patch.loggedInAt !== undefined ? { loggedInAt: new Date(patch.loggedInAt) } : {}),
    ...(patch.expiresAt !== undefined ? { expiresAt: new Date(patch.expiresAt) } : {}),
    ...(patch.declineReason !== undefined ? { declineReason: patch.declineReason } : {}),
    ...(patch.authMethod !== undefined ? { authMethod: patch.authMethod } : {}),
    ...(patch.scanAccountId !== undefined ? { scanAccountId: patch.scanAccountId } : {}),
    updatedAt: new Date(now),
  });

  const decide = async (
    target: string | Session,
    patch: TransitionPatch,
    now: number,
    options: TransitionOptions = {},
  ): Promise<Session> => {
    const sessionId = typeof target === 'string' ? target : target.id;
    const move = async (handle: Knex): Promise<Session | undefined> => {
      const repository = handle === db ? sessions : createSessionRepository(handle);
      if (!(await repository.transition(sessionId, pendingStates, patch, now, now))) return undefined;
      return typeof target === 'string' ? repository.load(sessionId) : afterTransition(target, patch, now);
    };
    const { inTransaction } = options;
    const moved = inTransaction
      ? await db.transaction(async (trx) => {
          const session = await move(trx);
          if (session) await inTransaction(session, trx);
          return session;
        })
      : await move(db);
    if (!moved) throw await refusal(sessionId, now);
    return changed(moved, now);
  };

  return {
    async createSession(input) {
      const context = sessionContextSchema.parse({ userAgent: input.userAgent, ip: input.ip });
      const server = typeof input.server === 'string' ? await servers.getByName(input.server) : input.server;
      const now = clock.now();
      const nonce = newNonce(random);
      const record = {
        id: newId(random),
        serverId: server.id,
        nonceHash: sha256Hex(nonce),
        userAgent: context.userAgent,
        ip: context.ip,
        info: input.info ?? null,
        createdAt: now,
        expiresAt: now + server.policy.loginTimeoutSeconds * 1000,
      };
      await sessions.save(record);
      // What was just inserted, without reading it back.
      const session: Session = {
        id: record.id,
        serverId: server.id,
        serverName: server.name,
        state: 'waiting',
        userid: null,
        accountId: null,
        hsid: null,
        userAgent: record.userAgent,
        ip: record.ip,
        info: record.info,
        declineReason: null,
        authMethod: null,
        scanAccountId: null,
        createdAt: new Date(now),
        expiresAt: new Date(record.expiresAt),
        loggedInAt: null,
        updatedAt: new Date(now),
      };
      return { nonce, session };
    },

    findByNonce: (nonce) => sessions.findByNonceHash(sha256Hex(nonce)),

    async getStatus(nonce) {
      return toLoginStatus(await requireByNonce(nonce), clock.now());
    },

    async statusById(sessionId) {
      return toLoginStatus(await loadById(sessionId), clock.now());
    },

    async currentLoginCode(nonce, loaded) {
      const session = loaded ?? (await requireByNonce(nonce));
      const now = clock.now();
      const state = effectiveState(session, now);
      if (state === 'expired') throw new SessionError('session_expired');
      if (state !== 'waiting') throw new SessionError('invalid_state', `The login session is ${state}`);
      const window = Math.floor(now / loginCodeRotationMs);
      const refreshAt = (window + 1) * loginCodeRotationMs;
      const expiresAt = Math.min(refreshAt + loginCodeGraceMs, session.expiresAt.getTime());
      const code = deriveLoginCode(nonce, session.id, window);
      await codes.saveIfAbsent({
        codeHash: sha256Hex(code),
        sessionId: session.id,
        createdAt: now,
        expiresAt,
      });
      const qrData = { v: qrPayloadVersion, ns: publicUrl, s: session.serverName, c: code } as const;
      return {
        code,
        expiresAt: new Date(expiresAt),
        refreshAt: new Date(Math.min(refreshAt, expiresAt)),
        qrData,
        qrUri: loginQrUri(qrData),
      };
    },

    async redeemLoginCode(code, options = {}) {
      if (!codeShape.test(code)) throw new SessionError('unknown_code');
      const codeHash = sha256Hex(code);
      const now = clock.now();
      // One transaction: a code whose session cannot move to `scanned` stays unused (no state change). The
      // consuming UPDATE comes first (SQLite takes its write lock there; one winner everywhere).
      const session = await db.transaction(async (trx) => {
        const trxCodes = createLoginCodeRepository(trx);
        if (!(await trxCodes.consume(codeHash, now))) {
          const record = await trxCodes.find(codeHash);
          if (!record) throw new SessionError('unknown_code');
          if (record.usedAt !== null) throw new SessionError('code_used');
          throw new SessionError('code_expired');
        }
        const trxSessions = createSessionRepository(trx);
        const found = await trxSessions.findByLoginCodeHash(codeHash);
        if (!found) throw new SessionError('unknown_code');
        // Thrown inside the transaction: the consumed code is rolled back, so another server's code is untouched.
        if (options.serverId !== undefined && found.serverId !== options.serverId)
          throw new SessionError('unknown_code');
        const patch: TransitionPatch = {
          state: 'scanned',
          ...(options.accountId !== undefined ? { scanAccountId: options.accountId } : {}),
        };
        if (!(await trxSessions.transition(found.id, ['waiting'], patch, now, now))) {
          const current = await trxSessions.load(found.id);
          throw effectiveState(current, now) === 'expired'
            ? new SessionError('session_expired')
            : new SessionError('invalid_state', `The login session is ${current.state}`);
        }
        return afterTransition(found, patch, now);
      });
      return changed(session, now);
    },

    async peekLoginCode(code, serverId) {
      if (!codeShape.test(code)) return undefined;
      const codeHash = sha256Hex(code);
      const now = clock.now();
      const record = await codes.find(codeHash);
      if (!record || record.usedAt !== null || record.expiresAt <= now) return undefined;
      const session = await sessions.findByLoginCodeHash(codeHash);
      if (!session || session.serverId !== serverId || effectiveState(session, now) !== 'waiting')
        return undefined;
      return session;
    },

    async markLoggedIn(session, approval, options) {
      const parsed = loginApprovalSchema.parse(approval);
      const now = clock.now();
      return decide(
        session,
        {
          state: 'loggedin',
          userid: parsed.userid,
          accountId: parsed.accountId,
          hsid: parsed.hsid ?? randomToken(random, 16),
          authMethod: parsed.method ?? 'pin',
          loggedInAt: now,
          expiresAt: now + loggedInSessionMs,
        },
        now,
        options,
      );
    },

    async endScansOfLockedAccount(accountId) {
      let ended = 0;
      for (const session of await sessions.findScannedBy(accountId, clock.now())) {
        try {
          await decide(session, { state: 'declined', declineReason: 'locked' }, clock.now(), {});
          ended++;
        } catch (err) {
          if (!(err instanceof SessionError)) throw err;
        }
      }
      return ended;
    },

    async markDeclined(session, options = {}) {
      const declineReason = declineReasonSchema.parse(options.reason ?? 'declined');
      return decide(session, { state: 'declined', declineReason }, clock.now(), options);
    },

    async scanWith(sessionId, accountId, consume) {
      const now = clock.now();
      const session = await db.transaction(async (trx) => {
        await consume(trx, now);
        const trxSessions = createSessionRepository(trx);
        const patch: TransitionPatch = { state: 'scanned', scanAccountId: accountId };
        if (!(await trxSessions.transition(sessionId, ['waiting'], patch, now, now))) {
          let current: Session;
          try {
            current = await trxSessions.load(sessionId);
          } catch (err) {
            if (err instanceof NotFoundError) throw new SessionError('unknown_session');
            throw err;
          }
          throw effectiveState(current, now) === 'expired'
            ? new SessionError('session_expired')
            : new SessionError('invalid_state', `The login session is ${current.state}`);
        }
        return trxSessions.load(sessionId);
      });
      return changed(session, now);
    },

    async logout(nonce) {
      const session = await requireByNonce(nonce);
      const now = clock.now();
      // A logged-in session first, on its own guarded move: only the caller that ended a login tells the app.
      const endedLogin = await sessions.transition(
        session.id,
        ['loggedin'],
        { state: 'loggedout' },
        now,
        now,
      );
      const ended =
        endedLogin ||
        (await sessions.transition(session.id, ['waiting', 'scanned'], { state: 'loggedout' }, now, now));
      // Read back: a logout may end a session that became `loggedin` after `session` was read.
      const current = ended ? await changed(await loadById(session.id), now) : await loadById(session.id);
      if (endedLogin && deps.onLoggedOut) await deps.onLoggedOut(current);
      return toLoginStatus(current, now);
    },
  };
}
