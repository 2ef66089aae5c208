// PIN set / change / verify on every database: counting, lockout, penalty, block, and races with real concurrency.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { fromDbMillisOrNull } from '../../../../auth-server/common/db/timestamps.js';
import { SfsError } from '../../../../auth-server/sfs/errors.js';
import { pinVerifier } from '../../../../auth-server/sfs/pin/verifier.js';
import type { SfsApi } from '../../../../auth-server/sfs/service.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  devicePublicJwk,
  enrolled,
  pepper,
  pinProof,
  resetSfs,
  sfsApi,
  sfsRejection,
  snapshot,
} from '../fixtures.js';

async function attempts(knex: Knex, instanceId: string, serverId = 'ns-acme') {
  const row = await knex('sfs_pin_attempts').where({ instance_id: instanceId, server_id: serverId }).first();
  if (!row) return undefined;
  return {
    failedAttempts: Number(row.failed_attempts),
    lockouts: Number(row.lockouts),
    lockedUntil: fromDbMillisOrNull(row.locked_until),
    blockedAt: fromDbMillisOrNull(row.blocked_at),
  };
}

async function instanceFailures(knex: Knex, id: string) {
  const row = await knex('sfs_app_instances').where({ id }).first('failed_attempts', 'blocked_at');
  return { failedAttempts: Number(row?.failed_attempts), blockedAt: fromDbMillisOrNull(row?.blocked_at) };
}

/** Outcome code of each settled call ('ok' for success). */
async function outcomes(calls: Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((s) => {
    if (s.status === 'fulfilled') return 'ok';
    if (s.reason instanceof SfsError) return s.reason.code;
    throw s.reason;
  });
}

const tally = (codes: string[]) =>
  codes.reduce<Record<string, number>>((acc, c) => {
    acc[c] = (acc[c] ?? 0) + 1;
    return acc;
  }, {});

describeEachDatabase('sfs pin', (db) => {
  let clock: FixedClock;
  let api: SfsApi;

  beforeEach(async () => {
    await resetSfs(db().knex);
    clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
    api = sfsApi(db().knex, clock);
  });

  describe('set', () => {
    it('stores HMAC(pepper, instance id ‖ proof), never the proof', async () => {
      const instance = await api.instances.register({ publicJwk: await devicePublicJwk() });
      const proof = pinProof('123456');
      await api.pin.set({ instanceId: instance.id, pinProof: proof });
      const row = await db().knex('sfs_app_instances').where({ id: instance.id }).first();
      const expected = pinVerifier(pepper, instance.id, Buffer.from(proof, 'base64url'));
      expect(row.pin_verifier)
        .to.equal(expected)
        .and.match(/^[0-9a-f]{64}$/);
      const everything = JSON.stringify(await snapshot(db().knex));
      expect(everything)
        .not.to.contain(proof)
        .and.not.to.contain(Buffer.from(proof, 'base64url').toString('hex'));
      expect((await api.instances.get(instance.id)).hasPin).to.equal(true);
    });

    it('binds the verifier to the instance: one proof gives different verifiers on two instances', async () => {
      const a = await api.instances.register({ publicJwk: await devicePublicJwk() });
      const b = await api.instances.register({ publicJwk: await devicePublicJwk() });
      await api.pin.set({ instanceId: a.id, pinProof: pinProof('1111') });
      await api.pin.set({ instanceId: b.id, pinProof: pinProof('1111') });
      const rows = await db().knex('sfs_app_instances').select('pin_verifier');
      expect(new Set(rows.map((r: { pin_verifier: string }) => r.pin_verifier)).size).to.equal(2);
    });

    it('refuses a second set with pin_already_set and keeps the first PIN', async () => {
      const { instance, right } = await enrolled(api);
      const before = await snapshot(db().knex);
      await sfsRejection(
        api.pin.set({ instanceId: instance.id, pinProof: pinProof('999999') }),
        'pin_already_set',
      );
      expect(await snapshot(db().knex)).to.deep.equal(before);
      await api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: right });
    });

    it('refuses an unknown instance and malformed proofs, storing nothing', async () => {
      const instance = await api.instances.register({ publicJwk: await devicePublicJwk() });
      const before = await snapshot(db().knex);
      await sfsRejection(api.pin.set({ instanceId: 'ghost', pinProof: pinProof('1') }), 'unknown_instance');
      const proof = pinProof('1');
      const nonCanonical = `${proof.slice(0, 42)}${proof[42] === 'B' ? 'C' : 'B'}`;
      for (const bad of ['', '123456', 'A'.repeat(44), `${proof}=`, nonCanonical, 42]) {
        await sfsRejection(
          api.pin.set({ instanceId: instance.id, pinProof: bad as string }),
          'invalid_request',
        );
      }
      expect(await snapshot(db().knex)).to.deep.equal(before);
    });

    it('lets exactly one of concurrent first sets win', async () => {
      const instance = await api.instances.register({ publicJwk: await devicePublicJwk() });
      const codes = await outcomes(
        Array.from({ length: 8 }, (_, i) =>
          api.pin.set({ instanceId: instance.id, pinProof: pinProof(`pin-${i}`) }),
        ),
      );
      expect(tally(codes)).to.deep.equal({ ok: 1, pin_already_set: 7 });
    });
  });

  describe('verify', () => {
    it('accepts the right PIN and counts nothing', async () => {
      const { instance, right } = await enrolled(api);
      expect(
        await api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: right }),
      ).to.deep.equal({
        instanceId: instance.id,
        serverId: 'ns-acme',
      });
      expect(await attempts(db().knex, instance.id)).to.equal(undefined);
    });

    it('counts wrong PINs, then locks for lockoutSeconds without evaluating PINs meanwhile', async () => {
      const { instance, right, wrong } = await enrolled(api, { maxAttempts: 3, lockoutSeconds: 60 });
      const verify = (pinProof: string) =>
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof });
      await sfsRejection(verify(wrong), 'pin_invalid', { attemptsLeft: 2 });
      await sfsRejection(verify(wrong), 'pin_invalid', { attemptsLeft: 1 });
      await sfsRejection(verify(wrong), 'pin_locked', { retryAfterSeconds: 60 });
      expect(await attempts(db().knex, instance.id)).to.deep.equal({
        failedAttempts: 0,
        lockouts: 1,
        lockedUntil: clock.now() + 60_000,
        blockedAt: null,
      });
      // During the lock neither a right nor a wrong PIN changes anything (the lock is not extended).
      clock.advance(30_000);
      const locked = await snapshot(db().knex);
      await sfsRejection(verify(right), 'pin_locked', { retryAfterSeconds: 30 });
      await sfsRejection(verify(wrong), 'pin_locked', { retryAfterSeconds: 30 });
      expect(await snapshot(db().knex)).to.deep.equal(locked);
      // Once it runs out, the right PIN works and clears the counters and the penalty level.
      clock.advance(30_000);
      await verify(right);
      expect(await attempts(db().knex, instance.id)).to.deep.equal({
        failedAttempts: 0,
        lockouts: 0,
        lockedUntil: null,
        blockedAt: null,
      });
      expect(await instanceFailures(db().knex, instance.id)).to.deep.equal({
        failedAttempts: 0,
        blockedAt: null,
      });
    });

    it('doubles each further lockout and blocks for good at blockAfterLockouts', async () => {
      const { instance, right, wrong } = await enrolled(api, {
        maxAttempts: 2,
        lockoutSeconds: 10,
        blockAfterLockouts: 3,
      });
      const verify = (pinProof: string) =>
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof });
      await sfsRejection(verify(wrong), 'pin_invalid');
      await sfsRejection(verify(wrong), 'pin_locked', { retryAfterSeconds: 10 });
      clock.advance(10_000);
      await sfsRejection(verify(wrong), 'pin_invalid', { attemptsLeft: 1 });
      await sfsRejection(verify(wrong), 'pin_locked', { retryAfterSeconds: 20 });
      clock.advance(20_000);
      await sfsRejection(verify(wrong), 'pin_invalid');
      await sfsRejection(verify(wrong), 'pin_blocked');
      clock.advance(86_400_000 * 365);
      const blocked = await snapshot(db().knex);
      await sfsRejection(verify(right), 'pin_blocked');
      await sfsRejection(verify(wrong), 'pin_blocked');
      expect(await snapshot(db().knex)).to.deep.equal(blocked);
      expect((await attempts(db().knex, instance.id))?.blockedAt).to.be.a('number');
    });

    it("keeps each NS server's counter under its own policy", async () => {
      const { instance, right, wrong } = await enrolled(api, { maxAttempts: 2 });
      await api.servers.create({ id: 'ns-forum', policy: { maxAttempts: 10 } });
      const verify = (serverId: string, pinProof: string) =>
        api.pin.verify({ instanceId: instance.id, serverId, pinProof });
      await sfsRejection(verify('ns-acme', wrong), 'pin_invalid', { attemptsLeft: 1 });
      await sfsRejection(verify('ns-acme', wrong), 'pin_locked');
      await sfsRejection(verify('ns-forum', wrong), 'pin_invalid', { attemptsLeft: 9 });
      await verify('ns-forum', right);
      await sfsRejection(verify('ns-acme', right), 'pin_locked');
    });

    it('blocks the instance once wrong PINs across all servers reach the instance-wide ceiling', async () => {
      api = sfsApi(db().knex, clock, { instanceFailureLimit: 4 });
      const { instance, right, wrong } = await enrolled(api, { maxAttempts: 3 });
      await api.servers.create({ id: 'ns-b', policy: { maxAttempts: 3 } });
      const verify = (serverId: string, pinProof: string) =>
        api.pin.verify({ instanceId: instance.id, serverId, pinProof });
      await sfsRejection(verify('ns-acme', wrong), 'pin_invalid');
      await sfsRejection(verify('ns-acme', wrong), 'pin_invalid');
      await sfsRejection(verify('ns-b', wrong), 'pin_invalid');
      await sfsRejection(verify('ns-b', wrong), 'pin_blocked');
      expect((await instanceFailures(db().knex, instance.id)).blockedAt).to.equal(clock.now());
      expect((await api.instances.get(instance.id)).blocked).to.equal(true);
      const before = await snapshot(db().knex);
      await sfsRejection(verify('ns-acme', right), 'pin_blocked');
      expect(await snapshot(db().knex)).to.deep.equal(before);
    });

    it('a right PIN resets the instance-wide count', async () => {
      const { instance, right, wrong } = await enrolled(api);
      const verify = (pinProof: string) =>
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof });
      await sfsRejection(verify(wrong), 'pin_invalid');
      expect((await instanceFailures(db().knex, instance.id)).failedAttempts).to.equal(1);
      await verify(right);
      expect((await instanceFailures(db().knex, instance.id)).failedAttempts).to.equal(0);
    });

    it('refuses unknown instance, unknown server, no PIN and malformed input without any state change', async () => {
      const { instance, wrong } = await enrolled(api);
      const bare = await api.instances.register({ publicJwk: await devicePublicJwk() });
      const before = await snapshot(db().knex);
      await sfsRejection(
        api.pin.verify({ instanceId: 'ghost', serverId: 'ns-acme', pinProof: wrong }),
        'unknown_instance',
      );
      await sfsRejection(
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-ghost', pinProof: wrong }),
        'unknown_server',
      );
      await sfsRejection(
        api.pin.verify({ instanceId: bare.id, serverId: 'ns-acme', pinProof: wrong }),
        'pin_not_set',
      );
      await sfsRejection(
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: 'short' }),
        'invalid_request',
      );
      await sfsRejection(
        api.pin.verify({ instanceId: instance.id, serverId: 'bad id', pinProof: wrong }),
        'invalid_request',
      );
      expect(await snapshot(db().knex)).to.deep.equal(before);
    });
  });

  describe('change', () => {
    it('replaces the PIN after the old one is proven', async () => {
      const { instance, right } = await enrolled(api);
      const next = pinProof('654321');
      await api.pin.change({
        instanceId: instance.id,
        serverId: 'ns-acme',
        oldPinProof: right,
        newPinProof: next,
      });
      await api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: next });
      await sfsRejection(
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: right }),
        'pin_invalid',
      );
    });

    it('counts a wrong old PIN like a verify and keeps the PIN', async () => {
      const { instance, right, wrong } = await enrolled(api, { maxAttempts: 2 });
      const change = (old: string) =>
        api.pin.change({
          instanceId: instance.id,
          serverId: 'ns-acme',
          oldPinProof: old,
          newPinProof: pinProof('7'),
        });
      await sfsRejection(change(wrong), 'pin_invalid', { attemptsLeft: 1 });
      await sfsRejection(change(wrong), 'pin_locked');
      const locked = await snapshot(db().knex);
      await sfsRejection(change(right), 'pin_locked');
      expect(await snapshot(db().knex)).to.deep.equal(locked);
      clock.advance(300_000);
      await api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: right });
    });
  });

  describe('races', () => {
    it('counts 10 concurrent wrong PINs exactly 10 times', async () => {
      const { instance, wrong } = await enrolled(api, { maxAttempts: 20 });
      const errors = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: wrong }),
        ),
      );
      const left = errors.map((e) => (e.status === 'rejected' ? (e.reason as SfsError).attemptsLeft : -1));
      expect(left.sort((a, b) => (a ?? 0) - (b ?? 0))).to.deep.equal([
        10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
      ]);
      expect((await attempts(db().knex, instance.id))?.failedAttempts).to.equal(10);
      expect((await instanceFailures(db().knex, instance.id)).failedAttempts).to.equal(10);
    });

    it('locks after exactly maxAttempts of 10 concurrent wrong PINs; the rest are refused uncounted', async () => {
      const { instance, right, wrong } = await enrolled(api, { maxAttempts: 5 });
      const codes = await outcomes(
        Array.from({ length: 10 }, () =>
          api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: wrong }),
        ),
      );
      expect(tally(codes)).to.deep.equal({ pin_invalid: 4, pin_locked: 6 });
      expect(await attempts(db().knex, instance.id)).to.deep.include({ failedAttempts: 0, lockouts: 1 });
      expect((await instanceFailures(db().knex, instance.id)).failedAttempts).to.equal(5);
      await sfsRejection(
        api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof: right }),
        'pin_locked',
      );
    });

    it('cannot bypass a lockout by racing right PINs against the locking wrong one', async () => {
      for (let round = 0; round < 5; round++) {
        await resetSfs(db().knex);
        const { instance, right, wrong } = await enrolled(api, { maxAttempts: 3 });
        const verify = (pinProof: string) =>
          api.pin.verify({ instanceId: instance.id, serverId: 'ns-acme', pinProof });
        await sfsRejection(verify(wrong), 'pin_invalid');
        await sfsRejection(verify(wrong), 'pin_invalid');
        // One wrong PIN (the one that locks) raced against ten right ones. Serially either the wrong one runs
        // first and every right one meets the lock, or a right one runs first, resets the counter, and the
        // wrong one merely counts 1. Anything in between means a right PIN was accepted after the lock.
        const calls = Array.from({ length: 10 }, () => verify(right));
        calls.splice(round * 2, 0, verify(wrong));
        const codes = await outcomes(calls);
        const wrongCode = codes[round * 2];
        const rights = tally(codes.filter((_, i) => i !== round * 2));
        const state = await attempts(db().knex, instance.id);
        if (wrongCode === 'pin_locked') {
          expect(rights).to.deep.equal({ pin_locked: 10 });
          expect(state).to.deep.include({ lockouts: 1 });
        } else {
          expect(wrongCode).to.equal('pin_invalid');
          expect(rights.ok).to.be.greaterThan(0);
          expect((rights.ok ?? 0) + (rights.pin_locked ?? 0)).to.equal(10);
          expect(rights.pin_locked ?? 0).to.equal(0);
          expect(state?.lockouts).to.equal(0);
        }
      }
    });
  });
});
