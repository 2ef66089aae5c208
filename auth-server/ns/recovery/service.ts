// Recovery codes of a virtual server's users (issue #7): a user who can still log in generates ten one-time
// codes (shown once; a new set replaces the old); a user without any working phone trades one code for an
// enrol link for their userid. Only where the server's policy allows it; wrong codes lock the userid out.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';
import type { AccountService, EnrolLink } from '../accounts/service.js';
import type { AuditContext } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { VirtualServer } from '../servers/model.js';
import { sha256Hex } from '../sessions/secrets.js';
import {
  codesPerSet,
  hashRecoveryCode,
  newRecoveryCode,
  normalizeRecoveryCode,
  recoveryHashKey,
} from './codes.js';
import { createRecoveryCodeRepository } from './repository.js';

export type RecoveryErrorCode =
  /** The server's policy does not allow recovery codes. */
  | 'recovery_codes_off'
  /** Unknown, mistyped or already used (one answer for all: a guesser learns nothing). */
  | 'recovery_code_invalid'
  /** Too many wrong codes for this userid lately. */
  | 'recovery_locked';

export class RecoveryError extends Error {
  override name = 'RecoveryError';
  constructor(
    readonly code: RecoveryErrorCode,
    message: string,
    /** For `recovery_locked`: when to try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface RecoveryLimits {
  /** Wrong codes per userid within `lockoutWindowMs` before every code is refused (default 5). */
  maxFailures?: number;
  /** Default 15 minutes. */
  lockoutWindowMs?: number;
}

export interface RecoveryService {
  /** Whether the policy allows codes and how many unused ones the user holds. */
  status(server: VirtualServer, userid: string): Promise<{ enabled: boolean; remaining: number }>;
  /** Ten new codes (the only time they exist in plain); the old set is gone. RecoveryError when off. */
  generate(server: VirtualServer, userid: string, by: AuditContext): Promise<string[]>;
  /**
   * Uses one code of `userid` (atomically: of concurrent uses exactly one wins) and returns an enrol link
   * for that userid. RecoveryError otherwise, after counting a wrong code toward the lockout.
   */
  redeem(server: VirtualServer, userid: string, code: string, by: AuditContext): Promise<EnrolLink>;
}

export interface RecoveryServiceDeps {
  db: Knex;
  kv: Kv;
  clock: Clock;
  random: Random;
  /** NEXTAUTH_SECRET_KEY: the code hashes' key is derived from it, so the database alone tests nothing. */
  secretKey: string;
  audit: AuditRecorder;
  accounts: Pick<AccountService, 'createEnrolLink'>;
  limits?: RecoveryLimits;
}

export function createRecoveryService(deps: RecoveryServiceDeps): RecoveryService {
  const { db, kv, clock, random, audit } = deps;
  const key = recoveryHashKey(deps.secretKey);
  const maxFailures = deps.limits?.maxFailures ?? 5;
  const windowMs = deps.limits?.lockoutWindowMs ?? 15 * 60_000;

  const requireEnabled = (server: VirtualServer) => {
    if (!server.recoveryCodes)
      throw new RecoveryError('recovery_codes_off', 'This server does not use recovery codes');
  };
  // The userid is hashed into the KV key: free-form userids may hold anything, and KV keys stay short.
  const failureKey = (server: VirtualServer, userid: string) =>
    `recovery:fail:${server.id}:${sha256Hex(userid)}`;

  const record = (
    type: 'recovery_codes.generated' | 'recovery_code.used' | 'recovery_code.refused',
    server: VirtualServer,
    userid: string,
    by: AuditContext,
    details: Record<string, string | number>,
    trx?: Knex,
  ) =>
    audit.record(
      {
        type,
        server: { id: server.id, name: server.name },
        ...by,
        subject: { kind: 'user', id: userid },
        details,
      },
      trx,
    );

  return {
    async status(server, userid) {
      const remaining = await createRecoveryCodeRepository(db).countUnused(server.id, userid);
      return { enabled: server.recoveryCodes, remaining };
    },

    async generate(server, userid, by) {
      requireEnabled(server);
      const codes = Array.from({ length: codesPerSet }, () => newRecoveryCode(random));
      const rows = codes.map((code) => ({
        id: randomToken(random, 16),
        codeHash: hashRecoveryCode(key, server.id, userid, normalizeRecoveryCode(code) ?? ''),
      }));
      await db.transaction(async (trx) => {
        await createRecoveryCodeRepository(trx).replace(server.id, userid, rows, clock.now());
        await record('recovery_codes.generated', server, userid, by, { count: rows.length }, trx);
      });
      return codes;
    },

    async redeem(server, userid, input, by) {
      requireEnabled(server);
      const failures = Number((await kv.get(failureKey(server, userid))) ?? 0);
      if (failures >= maxFailures) {
        await record('recovery_code.refused', server, userid, by, { reason: 'locked' });
        throw new RecoveryError(
          'recovery_locked',
          'Too many wrong recovery codes; try again later',
          Math.ceil(windowMs / 1000),
        );
      }
      const canonical = normalizeRecoveryCode(input);
      const used =
        canonical !== undefined &&
        (await db.transaction(async (trx) => {
          const hash = hashRecoveryCode(key, server.id, userid, canonical);
          // The guarded UPDATE comes first: it decides races (one winner) and takes the row lock.
          if (!(await createRecoveryCodeRepository(trx).consume(server.id, userid, hash, clock.now())))
            return false;
          await record('recovery_code.used', server, userid, by, {}, trx);
          return true;
        }));
      if (!used) {
        const count = await kv.incr(failureKey(server, userid), { ttlMs: windowMs });
        await record('recovery_code.refused', server, userid, by, { reason: 'invalid', failures: count });
        throw new RecoveryError('recovery_code_invalid', 'Unknown or already used recovery code');
      }
      // The code is spent before the link exists: a failure here costs the user one code, never gives two links.
      return deps.accounts.createEnrolLink({ server: server.name, userid }, by);
    },
  };
}
