// Lockout arithmetic: attempts left, doubling lockouts with a ceiling, permanent block, expiring locks.
import { expect } from 'chai';
import {
  type AttemptState,
  clearState,
  gate,
  lockoutSeconds,
  registerFailure,
} from '../../../../auth-server/sfs/pin/penalty.js';
import { type SfsPolicy, sfsPolicySchema } from '../../../../auth-server/sfs/servers/model.js';

const policy: SfsPolicy = sfsPolicySchema.parse({});
const now = Date.UTC(2026, 0, 1);

describe('sfs/pin/penalty', () => {
  it('has the documented defaults', () => {
    expect(policy).to.deep.equal({
      maxAttempts: 5,
      lockoutSeconds: 300,
      maxLockoutSeconds: 86_400,
      blockAfterLockouts: 5,
    });
  });

  it('counts down attempts, then locks for lockoutSeconds', () => {
    let state: AttemptState = clearState;
    for (let left = 4; left >= 1; left--) {
      const r = registerFailure(state, policy, now);
      expect(r.outcome).to.deep.equal({ kind: 'invalid', attemptsLeft: left });
      state = r.state;
    }
    const r = registerFailure(state, policy, now);
    expect(r.outcome).to.deep.equal({ kind: 'locked', retryAfterSeconds: 300 });
    expect(r.state).to.deep.equal({
      failedAttempts: 0,
      lockouts: 1,
      lockedUntil: now + 300_000,
      blockedAt: null,
    });
  });

  it('doubles each lockout up to the ceiling', () => {
    const p = { ...policy, blockAfterLockouts: 0, maxLockoutSeconds: 2000 };
    expect([1, 2, 3, 4, 5, 40].map((n) => lockoutSeconds(p, n))).to.deep.equal([
      300, 600, 1200, 2000, 2000, 2000,
    ]);
  });

  it('blocks at the configured lockout and never with 0', () => {
    const atFifth = registerFailure(
      { failedAttempts: 4, lockouts: 4, lockedUntil: null, blockedAt: null },
      policy,
      now,
    );
    expect(atFifth.outcome).to.deep.equal({ kind: 'blocked' });
    expect(atFifth.state.blockedAt).to.equal(now);
    const never = registerFailure(
      { failedAttempts: 4, lockouts: 99, lockedUntil: null, blockedAt: null },
      { ...policy, blockAfterLockouts: 0 },
      now,
    );
    expect(never.outcome).to.deep.equal({ kind: 'locked', retryAfterSeconds: 86_400 });
  });

  it('gates on block and unexpired lock, rounding the wait up', () => {
    expect(gate(clearState, now)).to.deep.equal({ kind: 'open' });
    expect(gate({ ...clearState, lockedUntil: now + 1500 }, now)).to.deep.equal({
      kind: 'locked',
      retryAfterSeconds: 2,
    });
    expect(gate({ ...clearState, lockedUntil: now }, now)).to.deep.equal({ kind: 'open' });
    expect(gate({ ...clearState, blockedAt: now - 1 }, now)).to.deep.equal({ kind: 'blocked' });
  });

  it('refuses a ceiling below the first lockout and unknown keys', () => {
    expect(sfsPolicySchema.safeParse({ lockoutSeconds: 600, maxLockoutSeconds: 300 }).success).to.equal(
      false,
    );
    expect(sfsPolicySchema.safeParse({ maxAtempts: 3 }).success).to.equal(false);
    expect(sfsPolicySchema.safeParse({ maxAttempts: 0 }).success).to.equal(false);
  });
});
