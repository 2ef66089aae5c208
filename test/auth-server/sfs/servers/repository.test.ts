// NS servers registered at SFS, on every database: default policy, validation, conflicts, optional key.
import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import {
  createSfsServerRepository,
  type SfsServerRepository,
} from '../../../../auth-server/sfs/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { devicePublicJwk, resetSfs, sfsRejection, snapshot } from '../fixtures.js';

const defaults = { maxAttempts: 5, lockoutSeconds: 300, maxLockoutSeconds: 86_400, blockAfterLockouts: 5 };

describeEachDatabase('sfs servers', (db) => {
  let clock: FixedClock;
  let repo: SfsServerRepository;

  beforeEach(async () => {
    await resetSfs(db().knex);
    clock = new FixedClock(Date.UTC(2026, 2, 1));
    repo = createSfsServerRepository(db().knex, clock);
  });

  it('registers with the default policy and reads it back', async () => {
    const created = await repo.create({ id: 'Xk3-server_id' });
    expect(created).to.deep.include({
      id: 'Xk3-server_id',
      policy: defaults,
      publicJwk: null,
      keyThumbprint: null,
    });
    expect(created.createdAt.getTime()).to.equal(clock.now());
    expect(await repo.get('Xk3-server_id')).to.deep.equal(created);
    expect(await repo.find('xk3-server_id')).to.equal(undefined);
  });

  it('keeps explicit policy values and stores the NS public key with its thumbprint', async () => {
    const jwk = await devicePublicJwk();
    const created = await repo.create({
      id: 'bank',
      policy: { maxAttempts: 3, lockoutSeconds: 60 },
      publicJwk: jwk,
    });
    expect(created.policy).to.deep.equal({ ...defaults, maxAttempts: 3, lockoutSeconds: 60 });
    expect(created.keyThumbprint).to.equal(await calculateJwkThumbprint(jwk));
    expect(await repo.get('bank')).to.deep.equal(created);
  });

  it('lists by id', async () => {
    await repo.create({ id: 'zeta' });
    await repo.create({ id: 'alpha' });
    expect((await repo.list()).map((s) => s.id)).to.deep.equal(['alpha', 'zeta']);
  });

  it('refuses a taken id or key with conflict and changes nothing', async () => {
    const jwk = await devicePublicJwk();
    await repo.create({ id: 'acme', publicJwk: jwk });
    const before = await snapshot(db().knex);
    await sfsRejection(repo.create({ id: 'acme', policy: { maxAttempts: 9 } }), 'conflict');
    await sfsRejection(repo.create({ id: 'other', publicJwk: jwk }), 'conflict');
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('throws unknown_server for an unknown id', async () => {
    await sfsRejection(repo.get('ghost'), 'unknown_server');
  });

  const invalid: Array<[string, () => Promise<unknown>]> = [
    ['an id with a space', async () => ({ id: 'a b' })],
    ['an id starting with a hyphen', async () => ({ id: '-a' })],
    ['an id over 200 characters', async () => ({ id: 'a'.repeat(201) })],
    ['zero attempts', async () => ({ id: 'ok', policy: { maxAttempts: 0 } })],
    ['a fractional lockout', async () => ({ id: 'ok', policy: { lockoutSeconds: 1.5 } })],
    [
      'a ceiling below the lockout',
      async () => ({ id: 'ok', policy: { lockoutSeconds: 600, maxLockoutSeconds: 60 } }),
    ],
    ['an unknown policy key', async () => ({ id: 'ok', policy: { maxAtempts: 3 } })],
    ['an unknown field', async () => ({ id: 'ok', admin: true })],
    ['an RSA key', async () => ({ id: 'ok', publicJwk: { kty: 'RSA', n: 'x', e: 'AQAB' } })],
    [
      'a private key',
      async () => {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true });
        return { id: 'ok', publicJwk: await exportJWK(privateKey) };
      },
    ],
  ];
  for (const [what, input] of invalid) {
    it(`refuses ${what} with invalid_request and stores nothing`, async () => {
      const err = await sfsRejection(repo.create((await input()) as never), 'invalid_request');
      expect(err.issues).to.be.an('array').that.is.not.empty;
      expect(await repo.list()).to.deep.equal([]);
    });
  }
});
