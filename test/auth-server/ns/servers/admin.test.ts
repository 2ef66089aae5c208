// The management services on every database: a server change, its audit event and its SFS registration
// happen together or not at all; API keys are created and revoked with their audit events; the minting
// rules hold without HTTP in front.
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { SfsPeer } from '../../../../auth-server/common/peers.js';
import { createApiKeyAdminService } from '../../../../auth-server/ns/apikeys/admin.js';
import { AccessDeniedError } from '../../../../auth-server/ns/apikeys/roles.js';
import { createAuditService } from '../../../../auth-server/ns/audit/service.js';
import { createServerAdminService, ServerAdminError } from '../../../../auth-server/ns/servers/admin.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const by = { actor: { kind: 'apikey' as const, id: 'root' }, ip: '198.51.100.7', userAgent: 'test' };
const root = { keyId: 'root', serverId: null, roles: ['root' as const] };

describeEachDatabase('ns management services', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  let registered: unknown[];
  let sfsDown: boolean;
  const sfs: SfsPeer = {
    issuer: 'https://id.example/sfs',
    publicKeys: async () => [],
    async registerServer(input) {
      if (sfsDown) throw new Error('down');
      registered.push(input);
    },
  };

  const services = () => {
    const audit = createAuditService({ db: db().knex, clock, random: systemRandom });
    const repository = createVirtualServerRepository(db().knex, clock);
    return {
      audit,
      repository,
      servers: createServerAdminService({
        repository,
        sfs,
        audit,
        logger,
        publicUrl: 'https://id.example',
        protectedNames: ['default'],
      }),
      keys: createApiKeyAdminService({ db: db().knex, clock, random: systemRandom, audit }),
    };
  };
  /** Event types recorded in this test (the log is append-only: each test starts an hour later). */
  const events = async () =>
    (
      await db()
        .knex('ns_audit_events')
        .select('type')
        .where('occurred_at', '>=', clock.now())
        .orderBy('occurred_at')
    ).map((r) => r.type);

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    registered = [];
    sfsDown = false;
    clock.advance(3_600_000);
    await db().knex('ns_api_keys').del();
    await db().knex('ns_virtual_servers').del();
  });

  it('creates, updates and deletes a server with audit events and SFS registrations', async () => {
    const { servers } = services();
    await servers.create({ name: 'bank', displayName: 'Bank' }, by);
    await servers.update('bank', { policy: { pinAttempts: 3 } }, by);
    await servers.delete('bank', by);
    expect(await events()).to.have.members(['server.created', 'server.updated', 'server.deleted']);
    expect(registered).to.deep.equal([
      {
        id: 'https://id.example/ns/bank',
        policy: { maxAttempts: 5, lockoutSeconds: 300, maxLockoutSeconds: 86_400, blockAfterLockouts: 5 },
      },
      {
        id: 'https://id.example/ns/bank',
        policy: { maxAttempts: 3, lockoutSeconds: 300, maxLockoutSeconds: 86_400, blockAfterLockouts: 5 },
      },
    ]);
  });

  it('changes nothing, and records nothing, when the SFS does not take the policy', async () => {
    const { servers, repository } = services();
    await servers.create({ name: 'bank', displayName: 'Bank' }, by);
    const stored = await repository.getByName('bank');
    const before = await events();
    sfsDown = true;
    const err = await servers.update('bank', { policy: { lockoutSeconds: 60 } }, by).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ServerAdminError).and.include({ code: 'sfs_unavailable' });
    const created = await servers.create({ name: 'shop', displayName: 'Shop' }, by).catch((e: unknown) => e);
    expect(created).to.be.instanceOf(ServerAdminError);
    expect(await repository.getByName('bank')).to.deep.equal(stored);
    expect(await repository.findByName('shop')).to.equal(undefined);
    expect(await events()).to.deep.equal(before);
  });

  it('refuses to delete a protected server', async () => {
    const { servers, repository } = services();
    await repository.ensure({ name: 'default', displayName: 'nextAuth' });
    const err = await servers.delete('default', by).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ServerAdminError).and.include({ code: 'protected_server' });
    expect(await repository.findByName('default')).to.not.equal(undefined);
  });

  it('syncAll registers every server', async () => {
    const { servers, repository } = services();
    await repository.create({ name: 'a', displayName: 'A' });
    await repository.create({ name: 'b', displayName: 'B', policy: { pinAttempts: 9 } });
    await servers.syncAll();
    expect(registered.map((r) => (r as { id: string }).id)).to.deep.equal([
      'https://id.example/ns/a',
      'https://id.example/ns/b',
    ]);
  });

  it('creates and revokes API keys with audit events; refuses escalation without storing anything', async () => {
    const { keys, repository } = services();
    const server = await repository.create({ name: 'bank', displayName: 'Bank' });
    const { key, secret } = await keys.create(
      root,
      server,
      { name: 'backend', roles: ['servers', 'sessions'] },
      by,
    );
    expect(secret).to.match(/^nak_/);
    const admin = { keyId: key.id, serverId: server.id, roles: key.roles };
    const err = await keys
      .create(admin, server, { name: 'x', roles: ['users'] }, by)
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AccessDeniedError).and.include({ reason: 'role_escalation' });
    expect((await keys.list(server)).map((k) => k.id)).to.deep.equal([key.id]);
    expect(await keys.revoke(root, server, key.id, by)).to.equal(true);
    expect(await keys.revoke(root, server, key.id, by)).to.equal(false);
    expect(await events()).to.have.members(['apikey.created', 'apikey.revoked']);
  });
});
