// Recovery codes on every database: the policy and colours read back as written (booleans differ per
// dialect), codes are stored only as HMACs and replaced as a set, and of concurrent uses of one code exactly
// one wins and yields one enrol link; a lockout follows wrong codes.
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createAuditService } from '../../../../auth-server/ns/audit/service.js';
import { createRecoveryService, RecoveryError } from '../../../../auth-server/ns/recovery/service.js';
import type { VirtualServer } from '../../../../auth-server/ns/servers/model.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';

describeEachDatabase('ns recovery codes', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  let server: VirtualServer;
  let links: string[];
  let kv: MemoryKv;
  const by = { actor: { kind: 'user' as const, id: 'alice' }, ip: null, userAgent: null };

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    const { knex } = db();
    await knex('ns_virtual_servers').del();
    server = await createVirtualServerRepository(knex, clock).create({
      name: 'acme',
      displayName: 'ACME',
      recoveryCodes: true,
      accentLight: '#0B5D1E',
      appLink: 'https://app.example.com/l',
    });
    links = [];
    kv = new MemoryKv({ clock });
  });
  afterEach(() => kv.close());

  const service = (knex = db().knex) =>
    createRecoveryService({
      db: knex,
      kv,
      clock,
      random: systemRandom,
      secretKey: 'test-secret-key-0123456789',
      audit: createAuditService({ db: knex, clock, random: systemRandom }),
      accounts: {
        async createEnrolLink(input) {
          links.push(input.userid);
          return {
            uri: 'nextauth://enrol?d=x',
            expiresAt: new Date(clock.now() + 600_000),
            keyFingerprint: 'fp',
          };
        },
      },
    });

  it('reads the server settings back as written', async () => {
    const read = await createVirtualServerRepository(db().knex, clock).getByName('acme');
    expect(read).to.deep.include({
      recoveryCodes: true,
      accentLight: '#0b5d1e',
      accentDark: null,
      appLink: 'https://app.example.com/l',
    });
    const off = await createVirtualServerRepository(db().knex, clock).update('acme', {
      recoveryCodes: false,
    });
    expect(off.recoveryCodes).to.equal(false);
    expect((await createVirtualServerRepository(db().knex, clock).getByName('acme')).recoveryCodes).to.equal(
      false,
    );
  });

  it('stores a set of ten HMACs, replaced as a whole, and counts the unused ones', async () => {
    const s = service();
    const first = await s.generate(server, 'alice', by);
    const rows = await db().knex('ns_recovery_codes').select('code_hash', 'userid');
    expect(rows).to.have.length(10);
    expect(JSON.stringify(rows)).to.not.contain(first[0]?.replace('-', ''));
    await s.generate(server, 'alice', by);
    expect(await s.status(server, 'alice')).to.deep.equal({ enabled: true, remaining: 10 });
    const error = await s.redeem(server, 'alice', first[0] ?? '', by).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(RecoveryError).with.property('code', 'recovery_code_invalid');
  });

  it('of 10 concurrent uses of one code exactly one wins (one link, one used row, one used event)', async () => {
    const s = service();
    const [code = ''] = await s.generate(server, 'alice', by);
    // Two handles on servers (a pool each); SQLite serialises on its one writer.
    const other = db().dialect === 'sqlite' ? s : service(db().open());
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : s).redeem(server, 'alice', code, by)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).to.be.instanceOf(RecoveryError);
    expect(links).to.deep.equal(['alice']);
    const usedRows = await db().knex('ns_recovery_codes').whereNotNull('used_at').count({ n: '*' });
    expect(Number(usedRows[0]?.n)).to.equal(1);
    const used = await db().knex('ns_audit_events').where({ type: 'recovery_code.used' }).count({ n: '*' });
    expect(Number(used[0]?.n)).to.equal(1);
    expect(await s.status(server, 'alice')).to.deep.equal({ enabled: true, remaining: 9 });
  });

  it('locks the userid after five wrong codes, and refuses when the policy is off', async () => {
    const s = service();
    const [code = ''] = await s.generate(server, 'alice', by);
    for (let i = 0; i < 5; i++) await s.redeem(server, 'alice', 'ZZZZZ-ZZZZZ', by).catch(() => undefined);
    const locked = await s.redeem(server, 'alice', code, by).catch((e: unknown) => e);
    expect(locked).to.be.instanceOf(RecoveryError).with.property('code', 'recovery_locked');
    expect(links).to.deep.equal([]);
    const off = await s
      .redeem({ ...server, recoveryCodes: false }, 'alice', code, by)
      .catch((e: unknown) => e);
    expect(off).to.be.instanceOf(RecoveryError).with.property('code', 'recovery_codes_off');
  });
});
