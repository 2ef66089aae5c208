// PIN set / change / verify (DESIGN.md §6) with attempt accounting that holds under concurrency.
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../../common/clock.js';
import { parseInput, SfsError } from '../errors.js';
import { instancesTable } from '../instances/repository.js';
import { sfsServerIdSchema } from '../servers/model.js';
import { type AttemptState, clearState, type FailureOutcome, gate, registerFailure } from './penalty.js';
import {
  lockForCheck,
  replaceVerifier,
  setVerifierIfUnset,
  writeAttempts,
  writeInstanceFailures,
} from './repository.js';
import { pinProofSchema, pinVerifier, verifierMatches } from './verifier.js';

/**
 * Consecutive wrong PINs of one instance, summed over every NS server, that block it for good. Each server
 * counts under its own policy, so without this ceiling a stolen phone could try the policies of all
 * registered servers one after the other. Default policies block a server pair after 25 wrong PINs.
 */
export const defaultInstanceFailureLimit = 50;

export type PinAuditEvent =
  | 'pin_set'
  | 'pin_changed'
  | 'pin_verified'
  | 'pin_failed'
  | 'pin_locked'
  | 'pin_blocked'
  | 'pin_refused'
  | 'bio_registered'
  | 'bio_removed'
  | 'bio_verified'
  | 'bio_refused';

export interface PinAudit {
  event: PinAuditEvent;
  instanceId: string;
  serverId?: string;
  /** The SfsError code of a refused attempt. */
  code?: string;
  /** `pin_locked`: seconds until the next attempt. */
  retryAfterSeconds?: number;
}

export interface PinServiceOptions {
  knex: Knex;
  clock: Clock;
  /** NEXTAUTH_SFS_PIN_PEPPER: never stored in the database. */
  pepper: string;
  instanceFailureLimit?: number;
  /** Security audit trail; receives ids and outcomes, never proofs. */
  audit?: (entry: PinAudit) => void;
}

const instanceIdSchema = z.string().min(1).max(64);

const setSchema = z.strictObject({ instanceId: instanceIdSchema, pinProof: pinProofSchema });
const verifySchema = z.strictObject({
  instanceId: instanceIdSchema,
  serverId: sfsServerIdSchema,
  pinProof: pinProofSchema,
});
const changeSchema = z.strictObject({
  instanceId: instanceIdSchema,
  /** Whose policy counts a wrong old PIN: a change is a PIN check like any other. */
  serverId: sfsServerIdSchema,
  oldPinProof: pinProofSchema,
  newPinProof: pinProofSchema,
});

export interface PinService {
  /** First PIN of an instance. Throws `pin_already_set` (change it instead), `unknown_instance`. */
  set(input: z.input<typeof setSchema>): Promise<void>;
  /**
   * Checks the proof for `serverId` and counts a wrong one under that server's policy. Throws
   * `pin_invalid` (with attemptsLeft), `pin_locked` (retryAfterSeconds), `pin_blocked`, `pin_not_set`,
   * `unknown_instance`, `unknown_server`, `invalid_request`.
   */
  verify(input: z.input<typeof verifySchema>): Promise<{ instanceId: string; serverId: string }>;
  /** Replaces the PIN after checking the old one exactly as `verify` does (same errors, same counting). */
  change(input: z.input<typeof changeSchema>): Promise<void>;
}

function failureError(outcome: FailureOutcome): SfsError {
  switch (outcome.kind) {
    case 'invalid':
      return new SfsError('pin_invalid', { attemptsLeft: outcome.attemptsLeft });
    case 'locked':
      return new SfsError('pin_locked', { retryAfterSeconds: outcome.retryAfterSeconds });
    case 'blocked':
      return new SfsError('pin_blocked');
  }
}

const isClear = (s: AttemptState) =>
  s.failedAttempts === 0 && s.lockouts === 0 && s.lockedUntil === null && s.blockedAt === null;

export function createPinService(options: PinServiceOptions): PinService {
  const { knex, clock, pepper } = options;
  const limit = options.instanceFailureLimit ?? defaultInstanceFailureLimit;
  const audit = options.audit ?? (() => {});

  /**
   * One PIN check inside one transaction under the instance's row lock: refusals that need no bookkeeping
   * throw inside (and roll back, changing nothing); a wrong PIN is committed first and thrown after.
   */
  async function check(
    instanceId: string,
    serverId: string,
    proof: Uint8Array,
    onMatch?: (trx: Knex.Transaction, now: number) => Promise<void>,
  ): Promise<void> {
    const now = clock.now();
    let result: { ok: true } | { ok: false; error: SfsError; event: PinAuditEvent; outcome: FailureOutcome };
    try {
      result = await knex.transaction(async (trx) => {
        const read = await lockForCheck(trx, instanceId, serverId);
        if (!read) throw new SfsError('unknown_instance');
        const { instance, policy, attempts: stored } = read;
        if (!policy) throw new SfsError('unknown_server');
        if (instance.blocked) throw new SfsError('pin_blocked');
        if (instance.pinVerifier === null) throw new SfsError('pin_not_set');
        const state = stored ?? clearState;
        // Not even evaluated while locked: no oracle, and a lock is neither extended nor shortened.
        const open = gate(state, now);
        if (open.kind === 'blocked') throw new SfsError('pin_blocked');
        if (open.kind === 'locked')
          throw new SfsError('pin_locked', { retryAfterSeconds: open.retryAfterSeconds });

        if (verifierMatches(instance.pinVerifier, pinVerifier(pepper, instanceId, proof))) {
          if (stored && !isClear(stored))
            await writeAttempts(trx, instanceId, serverId, clearState, true, now);
          if (instance.failedAttempts !== 0) await writeInstanceFailures(trx, instanceId, 0, null, now);
          await onMatch?.(trx, now);
          return { ok: true as const };
        }
        const failure = registerFailure(state, policy, now);
        await writeAttempts(trx, instanceId, serverId, failure.state, stored !== undefined, now);
        const total = instance.failedAttempts + 1;
        const instanceBlocked = total >= limit;
        await writeInstanceFailures(trx, instanceId, total, instanceBlocked ? now : null, now);
        const outcome: FailureOutcome = instanceBlocked ? { kind: 'blocked' } : failure.outcome;
        const event: PinAuditEvent =
          outcome.kind === 'invalid'
            ? 'pin_failed'
            : outcome.kind === 'locked'
              ? 'pin_locked'
              : 'pin_blocked';
        return { ok: false as const, error: failureError(outcome), event, outcome };
      });
    } catch (err) {
      if (err instanceof SfsError) audit({ event: 'pin_refused', instanceId, serverId, code: err.code });
      throw err;
    }
    if (!result.ok) {
      const { outcome } = result;
      audit({
        event: result.event,
        instanceId,
        serverId,
        ...(outcome.kind === 'locked' ? { retryAfterSeconds: outcome.retryAfterSeconds } : {}),
      });
      throw result.error;
    }
  }

  return {
    async set(input) {
      const { instanceId, pinProof } = parseInput(setSchema, input);
      const verifier = pinVerifier(pepper, instanceId, pinProof);
      if (await setVerifierIfUnset(knex, instanceId, verifier, clock.now())) {
        audit({ event: 'pin_set', instanceId });
        return;
      }
      const exists = await knex(instancesTable).where({ id: instanceId }).first('id');
      throw new SfsError(exists ? 'pin_already_set' : 'unknown_instance');
    },

    async verify(input) {
      const { instanceId, serverId, pinProof } = parseInput(verifySchema, input);
      await check(instanceId, serverId, pinProof);
      audit({ event: 'pin_verified', instanceId, serverId });
      return { instanceId, serverId };
    },

    async change(input) {
      const { instanceId, serverId, oldPinProof, newPinProof } = parseInput(changeSchema, input);
      await check(instanceId, serverId, oldPinProof, (trx, now) =>
        replaceVerifier(trx, instanceId, pinVerifier(pepper, instanceId, newPinProof), now),
      );
      audit({ event: 'pin_changed', instanceId, serverId });
    },
  };
}
