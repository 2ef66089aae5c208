// API key storage on every database: save and load by hash or id, list and count active keys per server,
// revocation as one conditional UPDATE (of concurrent revocations exactly one wins), tolerant role reads.
import { expect } from 'chai';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { ConflictError } from '../../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import {
  type ApiKeyRepository,
  createApiKeyRepository,
} from '../../../../auth-server/ns/apikeys/repository.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';

describeEachDatabase('api key repository', (db) => {
  let repo: ApiKeyRepository;
  let acme: string;
  let other: string;
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    await db().knex('ns_api_keys').del();
    await db().knex('ns_virtual_servers').del();
    const servers = createVirtualServerRepository(db().knex, clock);
    acme = (await servers.create({ name: 'acme', displayName: 'ACME' })).id;
    other = (await servers.create({ name: 'other', displayName: 'Other' })).id;
    repo = createApiKeyRepository(db().knex);
  });

  const key = (id: string, serverId: string, at = clock.now()) => ({
    id,
    serverId,
    name: `key ${id}`,
    keyHash: id.padEnd(64, '0'),
    roles: ['sessions' as const],
    createdAt: new Date(at),
    createdBy: 'root',
  });

  it('saves and loads active keys by hash and by id, with createdBy', async () => {
    await repo.save(key('k1', acme));
    const byHash = await repo.findActiveByHash('k1'.padEnd(64, '0'));
    expect(byHash).to.deep.include({
      id: 'k1',
      serverId: acme,
      roles: ['sessions'],
      revokedAt: null,
      createdBy: 'root',
    });
    expect(await repo.findActiveById('k1')).to.deep.equal(byHash);
    expect(await repo.findActiveById('K1')).to.equal(undefined);
    const err = await repo
      .save({ ...key('k2', acme), keyHash: 'k1'.padEnd(64, '0') })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConflictError);
  });

  it('lists and counts the active keys of one server, oldest first', async () => {
    await repo.save(key('k2', acme, clock.now() + 2));
    await repo.save(key('k1', acme, clock.now() + 1));
    await repo.save(key('k3', other));
    expect((await repo.listActive(acme)).map((k) => k.id)).to.deep.equal(['k1', 'k2']);
    expect(await repo.countActive(acme)).to.equal(2);
    await repo.revoke('k1', acme, clock.now());
    expect((await repo.listActive(acme)).map((k) => k.id)).to.deep.equal(['k2']);
    expect(await repo.countActive(acme)).to.equal(1);
    expect(await repo.findActiveByHash('k1'.padEnd(64, '0'))).to.equal(undefined);
  });

  it('revokes only a key of the named server, once', async () => {
    await repo.save(key('k1', acme));
    expect(await repo.revoke('k1', other, clock.now())).to.equal(false);
    expect(await repo.revoke('k1', acme, clock.now())).to.equal(true);
    expect(await repo.revoke('k1', acme, clock.now())).to.equal(false);
  });

  it('of 8 concurrent revocations on separate connections exactly one wins', async () => {
    await repo.save(key('k1', acme));
    const handles = Array.from({ length: 4 }, () => db().open({ min: 1, max: 2 }));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        createApiKeyRepository(handles[i % handles.length] ?? db().knex).revoke('k1', acme, clock.now()),
      ),
    );
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it('drops stored role names it does not know instead of failing or widening access', async () => {
    await db()
      .knex('ns_api_keys')
      .insert({
        id: 'old',
        server_id: acme,
        name: 'old',
        key_hash: 'o'.padEnd(64, '0'),
        roles: '["admin","users"]',
        created_at: clock.now(),
      });
    expect((await repo.findActiveById('old'))?.roles).to.deep.equal(['users']);
    expect((await repo.findActiveById('old'))?.createdBy).to.equal(null);
  });

  it('deleting a server deletes its keys', async () => {
    await repo.save(key('k1', acme));
    await createVirtualServerRepository(db().knex, clock).delete('acme');
    expect(await repo.findActiveById('k1')).to.equal(undefined);
  });
});
