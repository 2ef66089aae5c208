// The MC's storage on every database (SQLite, PostgreSQL, MariaDB): registration races, the sealed push token,
// the mailbox with its cursor, pending limit, collapse, racing acks, and the sweep.
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../../auth-server/common/kv/index.js';
import { McError } from '../../../auth-server/mc/errors.js';
import { createMcInstanceRepository } from '../../../auth-server/mc/instances/repository.js';
import { createMailboxRepository } from '../../../auth-server/mc/mailbox/repository.js';
import { createMailboxService } from '../../../auth-server/mc/mailbox/service.js';
import { publicKeyToJwk } from '../../../protocol/index.js';
import { newMcMessageId, sealMcMessage } from '../../../protocol/mobile/mc-seal.js';
import { describeEachDatabase } from '../common/db/databases.js';
import { newDevice, rejection, secretKey, tables } from './harness.js';

describeEachDatabase('mc storage', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));

  beforeEach(async () => {
    await migrateLatest(db().knex, 'mc');
    for (const table of tables) await db().knex(table).del();
  });

  const services = () => {
    const kv = new MemoryKv({ clock });
    const instances = createMcInstanceRepository(db().knex, clock, systemRandom, secretKey);
    const mailbox = createMailboxService({
      repository: createMailboxRepository(db().knex),
      instances,
      kv,
      clock,
      limits: { maxPending: 3 },
    });
    return { kv, instances, mailbox };
  };

  async function registered() {
    const { kv, instances, mailbox } = services();
    const device = await newDevice();
    const jwk = publicKeyToJwk(device.signer.publicKey);
    const instance = await instances.register({
      publicJwk: jwk,
      encryptionKey: device.encryptionJwk,
      push: { provider: 'apns', token: 'apns-device-token-0123456789abcdef' },
    });
    const post = async (collapseId?: string) => {
      const sealed = await sealMcMessage({
        recipientKey: device.encryptionJwk,
        instanceId: instance.id,
        id: newMcMessageId(),
        expiresAt: clock.now() + 60_000,
        plaintext: 'x',
      });
      return mailbox.post({ instanceId: instance.id, sealed, ...(collapseId ? { collapseId } : {}) });
    };
    return { kv, instances, mailbox, instance, jwk, device, post };
  }

  it('registers one instance per key even when racing, and keeps the push token sealed', async () => {
    const { instances, jwk, device, instance, kv } = await registered();
    expect(JSON.stringify(await db().knex('mc_app_instances').select('*'))).not.to.contain(
      'apns-device-token',
    );
    expect(await instances.pushRegistration(instance.id)).to.deep.equal({
      provider: 'apns',
      token: 'apns-device-token-0123456789abcdef',
    });
    const again = await Promise.all(
      [1, 2, 3].map(() =>
        instances.register({
          publicJwk: jwk,
          encryptionKey: device.encryptionJwk,
          push: { provider: 'none' },
        }),
      ),
    );
    expect(new Set(again.map((i) => i.id))).to.deep.equal(new Set([instance.id]));
    expect(await db().knex('mc_app_instances').count({ n: '*' }))
      .to.have.nested.property('[0].n')
      .that.satisfies((n: unknown) => Number(n) === 1);
    await kv.close();
  });

  it('pulls by cursor, limits pending messages, collapses, acks once, sweeps', async () => {
    const { mailbox, instance, post, kv } = await registered();
    const a = await post();
    const b = await post('login:1');
    const b2 = await post('login:1');
    const c = await post();
    const full = await rejection(post());
    expect(full).to.be.instanceOf(McError).with.property('code', 'mailbox_full');
    const page = await mailbox.pull(instance.id, { limit: 2 });
    expect(page.messages.map((m) => m.id)).to.deep.equal([a.id, b2.id]);
    expect(page.more).to.equal(true);
    const rest = await mailbox.pull(instance.id, { after: page.messages[1]?.cursor ?? '' });
    expect(rest.messages.map((m) => m.id)).to.deep.equal([c.id]);
    expect(b.id).not.to.equal(b2.id);
    const acks = await Promise.all([mailbox.ack(instance.id, [a.id]), mailbox.ack(instance.id, [a.id])]);
    expect(acks.reduce((x, y) => x + y, 0)).to.equal(1);
    clock.advance(60_001);
    expect((await mailbox.pull(instance.id)).messages).to.deep.equal([]);
    expect(await mailbox.sweep()).to.equal(3);
    clock.advance(-60_001);
    await kv.close();
  });
});
