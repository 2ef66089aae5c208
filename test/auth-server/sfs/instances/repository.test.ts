// App instances on every database: registration by P-256 key, idempotence, concurrency, refused keys.
import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import {
  type AppInstanceRepository,
  createAppInstanceRepository,
} from '../../../../auth-server/sfs/instances/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { devicePublicJwk, resetSfs, sfsRejection } from '../fixtures.js';

describeEachDatabase('sfs app instances', (db) => {
  let clock: FixedClock;
  let repo: AppInstanceRepository;
  const count = async () => Number((await db().knex('sfs_app_instances').count({ n: '*' }))[0]?.n);

  beforeEach(async () => {
    await resetSfs(db().knex);
    clock = new FixedClock(Date.UTC(2026, 2, 1));
    repo = createAppInstanceRepository(db().knex, clock, systemRandom);
  });

  it('registers a P-256 key under a new id with its RFC 7638 thumbprint, public members only', async () => {
    const jwk = { ...(await devicePublicJwk()), kid: 'ignored', use: 'sig' };
    const instance = await repo.register({ publicJwk: jwk });
    expect(instance.id).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(instance.keyThumbprint).to.equal(await calculateJwkThumbprint(jwk));
    expect(instance.publicJwk).to.deep.equal({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });
    expect(instance).to.deep.include({ hasPin: false, blocked: false });
    expect(await repo.get(instance.id)).to.deep.equal(instance);
    expect(await repo.findByThumbprint(instance.keyThumbprint)).to.deep.equal(instance);
  });

  it('returns the same instance when the same key registers again', async () => {
    const jwk = await devicePublicJwk();
    const first = await repo.register({ publicJwk: jwk });
    clock.advance(1000);
    expect(await repo.register({ publicJwk: jwk })).to.deep.equal(first);
    expect(await count()).to.equal(1);
  });

  it('agrees on one instance when one key registers concurrently', async () => {
    const jwk = await devicePublicJwk();
    const handles = db().dialect === 'sqlite' ? [db().knex] : [db().knex, db().open({ max: 5 })];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        createAppInstanceRepository(handles[i % handles.length] ?? db().knex, clock, systemRandom).register({
          publicJwk: jwk,
        }),
      ),
    );
    expect(new Set(results.map((r) => r.id)).size).to.equal(1);
    expect(await count()).to.equal(1);
  });

  it('throws unknown_instance for an unknown id', async () => {
    await sfsRejection(repo.get('nope'), 'unknown_instance');
    expect(await repo.findByThumbprint('nope')).to.equal(undefined);
  });

  const invalid: Array<[string, () => Promise<unknown>]> = [
    ['no key', async () => undefined],
    ['a P-384 key', async () => exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey)],
    [
      'an Ed25519 key',
      async () => exportJWK((await generateKeyPair('EdDSA', { extractable: true })).publicKey),
    ],
    [
      'a private key',
      async () => exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
    ],
    ['a point off the curve', async () => ({ ...(await devicePublicJwk()), y: 'A'.repeat(43) })],
    ['short coordinates', async () => ({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' })],
  ];
  for (const [what, jwk] of invalid) {
    it(`refuses ${what} with invalid_request and stores nothing`, async () => {
      await sfsRejection(repo.register({ publicJwk: await jwk() }), 'invalid_request');
      expect(await count()).to.equal(0);
    });
  }
});
