// Session operations (the logic behind REST, the login page and the phone side), testable without HTTP.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { NotFoundError } from '../../common/db/errors.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { SessionError } from './errors.js';
import { publishSessionState } from './events.js';
import { loggedInSessionMs, loginCodeGraceMs, loginCodeRotationMs } from './lifetimes.js';
import { type LoginCode, loginQrUri, qrPayloadVersion } from './login-code.js';
import { createLoginCodeRepository, type LoginCodeRepository } from './login-code-repository.js';
import {
  effectiveState,
  type LoginApproval,
  type LoginStatus,
  loginApprovalSchema,
  pendingStates,
  type Session,
  type SessionState,
  sessionContextSchema,
  toLoginStatus,
} from './model.js';
import { createSessionRepository, type SessionRepository } from './repository.js';
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
}

export interface CreateSessionInput {
  /** Virtual server name. */
  server: string;
  /** Of the browser that will show the QR (shown on the phone). */
  userAgent: string;
  ip: string;
}

export interface SessionService {
  /** Throws NotFoundError for an unknown server. The nonce is returned once and only its hash is stored. */
  createSession(input: CreateSessionInput): Promise<{ nonce: string; session: Session }>;
  findByNonce(nonce: string): Promise<Session | undefined>;
  /** LoginStatus of the session the nonce names; SessionError `unknown_session` otherwise. */
  getStatus(nonce: string): Promise<LoginStatus>;
  /** LoginStatus by internal id (SSE re-reads); SessionError `unknown_session` otherwise. */
  statusById(sessionId: string): Promise<LoginStatus>;
  /** The code for the current rotation window (the same on every instance); only while `waiting`. */
  currentLoginCode(nonce: string): Promise<LoginCode>;
  /**
   * Phone side: atomically consumes the code and moves its session `waiting → scanned`. Of N concurrent
   * redemptions exactly one succeeds; a refused redemption changes nothing. Never returns the nonce.
   * With `serverId`, a code of another virtual server is refused as `unknown_code` (and stays unused).
   */
  redeemLoginCode(code: string, options?: { serverId?: string }): Promise<Session>;
  /** `waiting|scanned → loggedin`; concurrent approve/decline: exactly one wins, the others get SessionError. */
  markLoggedIn(sessionId: string, approval: LoginApproval): Promise<Session>;
  /** `waiting|scanned → declined` ("not me" / cancel on the phone). */
  markDeclined(sessionId: string): Promise<Session>;
  /** Ends the session (`loggedout`); idempotent for sessions that already ended. */
  logout(nonce: string): Promise<LoginStatus>;
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

  const changed = async (sessionId: string, state: SessionState): Promise<Session> => {
    await publishSessionState(kv, logger, sessionId, state);
    return loadById(sessionId);
  };

  const decide = async (
    sessionId: string,
    patch: Parameters<SessionRepository['transition']>[2],
    now: number,
  ): Promise<Session> => {
    const won = await sessions.transition(sessionId, pendingStates, patch, now, now);
    if (!won) throw await refusal(sessionId, now);
    return changed(sessionId, patch.state);
  };

  return {
    async createSession(input) {
      const context = sessionContextSchema.parse({ userAgent: input.userAgent, ip: input.ip });
      const server = await servers.getByName(input.server);
      const now = clock.now();
      const nonce = newNonce(random);
      const id = newId(random);
      await sessions.save({
        id,
        serverId: server.id,
        nonceHash: sha256Hex(nonce),
        userAgent: context.userAgent,
        ip: context.ip,
        createdAt: now,
        expiresAt: now + server.policy.loginTimeoutSeconds * 1000,
      });
      return { nonce, session: await loadById(id) };
    },

    findByNonce: (nonce) => sessions.findByNonceHash(sha256Hex(nonce)),

    async getStatus(nonce) {
      return toLoginStatus(await requireByNonce(nonce), clock.now());
    },

    async statusById(sessionId) {
      return toLoginStatus(await loadById(sessionId), clock.now());
    },

    async currentLoginCode(nonce) {
      const session = await requireByNonce(nonce);
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
      // One transaction: a code whose session cannot move to `scanned` stays unused (no state change).
      const sessionId = await db.transaction(async (trx) => {
        const trxCodes = createLoginCodeRepository(trx);
        if (!(await trxCodes.consume(codeHash, now))) {
          const record = await trxCodes.find(codeHash);
          if (!record) throw new SessionError('unknown_code');
          if (record.usedAt !== null) throw new SessionError('code_used');
          throw new SessionError('code_expired');
        }
        const record = await trxCodes.find(codeHash);
        if (!record) throw new SessionError('unknown_code');
        const trxSessions = createSessionRepository(trx);
        if (options.serverId !== undefined) {
          // Thrown inside the transaction: the consumed code is rolled back, so another server's code is untouched.
          const session = await trxSessions.load(record.sessionId);
          if (session.serverId !== options.serverId) throw new SessionError('unknown_code');
        }
        if (!(await trxSessions.transition(record.sessionId, ['waiting'], { state: 'scanned' }, now, now))) {
          const session = await trxSessions.load(record.sessionId);
          throw effectiveState(session, now) === 'expired'
            ? new SessionError('session_expired')
            : new SessionError('invalid_state', `The login session is ${session.state}`);
        }
        return record.sessionId;
      });
      return changed(sessionId, 'scanned');
    },

    async markLoggedIn(sessionId, approval) {
      const parsed = loginApprovalSchema.parse(approval);
      const now = clock.now();
      return decide(
        sessionId,
        {
          state: 'loggedin',
          userid: parsed.userid,
          accountId: parsed.accountId,
          hsid: parsed.hsid ?? randomToken(random, 16),
          loggedInAt: now,
          expiresAt: now + loggedInSessionMs,
        },
        now,
      );
    },

    markDeclined: (sessionId) => decide(sessionId, { state: 'declined' }, clock.now()),

    async logout(nonce) {
      const session = await requireByNonce(nonce);
      const now = clock.now();
      const ended = await sessions.transition(
        session.id,
        ['waiting', 'scanned', 'loggedin'],
        { state: 'loggedout' },
        now,
        now,
      );
      const current = ended ? await changed(session.id, 'loggedout') : await loadById(session.id);
      return toLoginStatus(current, now);
    },
  };
}
