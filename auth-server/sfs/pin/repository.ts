// Storage of PIN verifiers and attempt state; every read-modify-write runs under the instance's row lock.
import type { Knex } from 'knex';
import { lockRows } from '../../common/db/lock.js';
import { fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { type InstanceRow, instancesTable } from '../instances/repository.js';
import type { AttemptState } from './penalty.js';

export const attemptsTable = 'sfs_pin_attempts';

export interface LockedInstance {
  id: string;
  pinVerifier: string | null;
  /** Consecutive wrong PINs across all servers. */
  failedAttempts: number;
  blocked: boolean;
}

interface AttemptRow {
  instance_id: string;
  server_id: string;
  failed_attempts: unknown;
  lockouts: unknown;
  locked_until: unknown;
  blocked_at: unknown;
  updated_at: unknown;
}

/**
 * Locks the instance row for the rest of `trx` and reads it; undefined when there is none. Every PIN
 * operation of one instance goes through this lock first, so concurrent attempts (on any SFS instance)
 * are counted one after the other and a lockout decided by one is seen by the next.
 */
export async function lockInstance(trx: Knex.Transaction, id: string): Promise<LockedInstance | undefined> {
  if ((await lockRows(trx, instancesTable, { id }, 'updated_at')) !== 1) return undefined;
  const row = await trx<InstanceRow>(instancesTable).where({ id }).first();
  if (!row) return undefined;
  return {
    id: row.id,
    pinVerifier: row.pin_verifier,
    failedAttempts: Number(row.failed_attempts),
    blocked: fromDbMillisOrNull(row.blocked_at) !== null,
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

export async function readAttempts(
  trx: Knex.Transaction,
  instanceId: string,
  serverId: string,
): Promise<AttemptState | undefined> {
  const row = await trx<AttemptRow>(attemptsTable)
    .where({ instance_id: instanceId, server_id: serverId })
    .first();
  if (!row) return undefined;
  return {
    failedAttempts: Number(row.failed_attempts),
    lockouts: Number(row.lockouts),
    lockedUntil: fromDbMillisOrNull(row.locked_until),
    blockedAt: fromDbMillisOrNull(row.blocked_at),
  };
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
