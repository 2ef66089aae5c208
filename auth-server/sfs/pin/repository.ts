// Storage of PIN verifiers and attempt state; every read-modify-write runs under the instance's row lock.
import type { Knex } from 'knex';
import { lockRows } from '../../common/db/lock.js';
import { fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { instancesTable } from '../instances/repository.js';
import { type SfsPolicy, storedSfsPolicySchema } from '../servers/model.js';
import { serversTable } from '../servers/repository.js';
import type { AttemptState } from './penalty.js';

export const attemptsTable = 'sfs_pin_attempts';

export interface LockedInstance {
  id: string;
  pinVerifier: string | null;
  /** Consecutive wrong PINs across all servers. */
  failedAttempts: number;
  blocked: boolean;
}

/** Everything a PIN check decides on, read under the instance's lock. */
export interface CheckState {
  instance: LockedInstance;
  /** The NS server's policy; undefined when that server is not registered at this SFS. */
  policy: SfsPolicy | undefined;
  /** The attempt state of (instance, server); undefined while none is stored. */
  attempts: AttemptState | undefined;
}

interface CheckRow {
  id: string;
  pin_verifier: string | null;
  failed_attempts: unknown;
  blocked_at: unknown;
  server_id: string | null;
  server_policy: string | null;
  attempts_instance: string | null;
  attempts_failed: unknown;
  attempts_lockouts: unknown;
  attempts_locked_until: unknown;
  attempts_blocked_at: unknown;
}

/**
 * Locks the instance row for the rest of `trx`, then reads the instance, the server's policy and the
 * attempt state in one statement; undefined when there is no such instance. Every PIN operation of one
 * instance goes through this lock first, so concurrent attempts (on any SFS instance) are counted one
 * after the other and a lockout decided by one is seen by the next.
 */
export async function lockForCheck(
  trx: Knex.Transaction,
  instanceId: string,
  serverId: string,
): Promise<CheckState | undefined> {
  if ((await lockRows(trx, instancesTable, { id: instanceId }, 'updated_at')) !== 1) return undefined;
  const row: CheckRow | undefined = await trx(`${instancesTable} as i`)
    .leftJoin(`${serversTable} as s`, (on) => on.onVal('s.id', '=', serverId))
    .leftJoin(`${attemptsTable} as a`, (on) =>
      on.on('a.instance_id', '=', 'i.id').andOnVal('a.server_id', '=', serverId),
    )
    .where('i.id', instanceId)
    .first(
      'i.id',
      'i.pin_verifier',
      'i.failed_attempts',
      'i.blocked_at',
      's.id as server_id',
      's.policy as server_policy',
      'a.instance_id as attempts_instance',
      'a.failed_attempts as attempts_failed',
      'a.lockouts as attempts_lockouts',
      'a.locked_until as attempts_locked_until',
      'a.blocked_at as attempts_blocked_at',
    );
  if (!row) return undefined;
  return {
    instance: {
      id: row.id,
      pinVerifier: row.pin_verifier,
      failedAttempts: Number(row.failed_attempts),
      blocked: fromDbMillisOrNull(row.blocked_at) !== null,
    },
    policy:
      row.server_id === null || row.server_policy === null
        ? undefined
        : storedSfsPolicySchema.parse(JSON.parse(row.server_policy)),
    attempts:
      row.attempts_instance === null
        ? undefined
        : {
            failedAttempts: Number(row.attempts_failed),
            lockouts: Number(row.attempts_lockouts),
            lockedUntil: fromDbMillisOrNull(row.attempts_locked_until),
            blockedAt: fromDbMillisOrNull(row.attempts_blocked_at),
          },
  };
}

/** Sets the verifier only where none is set; true when this call set it (a single guarded UPDATE). */
export async function setVerifierIfUnset(
  knex: Knex,
  id: string,
  verifier: string,
  now: number,
): Promise<boolean> {
  const affected: unknown = await knex(instancesTable)
    .where({ id })
    .whereNull('pin_verifier')
    .update({ pin_verifier: verifier, pin_set_at: now, failed_attempts: 0, updated_at: now });
  return affected === 1;
}

export async function replaceVerifier(trx: Knex.Transaction, id: string, verifier: string, now: number) {
  await trx(instancesTable)
    .where({ id })
    .update({ pin_verifier: verifier, pin_set_at: now, failed_attempts: 0, updated_at: now });
}

export async function writeInstanceFailures(
  trx: Knex.Transaction,
  id: string,
  failedAttempts: number,
  blockedAt: number | null,
  now: number,
) {
  await trx(instancesTable)
    .where({ id })
    .update({ failed_attempts: failedAttempts, blocked_at: blockedAt, updated_at: now });
}

/** Insert or update; safe without an upsert because the caller holds the instance lock. */
export async function writeAttempts(
  trx: Knex.Transaction,
  instanceId: string,
  serverId: string,
  state: AttemptState,
  exists: boolean,
  now: number,
) {
  const values = {
    failed_attempts: state.failedAttempts,
    lockouts: state.lockouts,
    locked_until: state.lockedUntil,
    blocked_at: state.blockedAt,
    updated_at: now,
  };
  if (exists) await trx(attemptsTable).where({ instance_id: instanceId, server_id: serverId }).update(values);
  else await trx(attemptsTable).insert({ instance_id: instanceId, server_id: serverId, ...values });
}
