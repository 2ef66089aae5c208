// Session events cross instances through Redis: a transition made by one instance reaches another's subscriber.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { RedisKv } from '../../../../auth-server/common/kv/redis.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { subscribeSessionEvents } from '../../../../auth-server/ns/sessions/events.js';
import { createSessionService } from '../../../../auth-server/ns/sessions/service.js';
import { requireService } from '../../../helpers/services.js';
import { deleteKeys, probeRedis } from '../../common/kv/redis-service.js';
import { publicUrl, silentLogger } from './fixtures.js';

describe('ns session events over Redis', () => {
  let uri: string;
  const prefix = `nextauth-test-${randomBytes(4).toString('hex')}:`;
  let dataDir: string;
  let knex: Knex;
  let publisher: RedisKv;
  let listener: RedisKv;

  before(async function () {
    uri = await requireService(this, 'redis', probeRedis);
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-events-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    publisher = new RedisKv(uri, { prefix });
    listener = new RedisKv(uri, { prefix });
  });
  after(async () => {
    await publisher?.close();
    await listener?.close();
    await knex?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (uri) await deleteKeys(uri, prefix);
  });

  it('delivers scanned and loggedin to a subscriber on another connection', async () => {
    const clock = new FixedClock();
    const servers = createVirtualServerRepository(knex, clock);
    await servers.create({ name: 'acme', displayName: 'ACME' });
    const service = createSessionService({
      db: knex,
      kv: publisher,
      clock,
      random: systemRandom,
      logger: silentLogger,
      servers,
      publicUrl,
    });
    const { nonce, session } = await service.createSession({ server: 'acme', userAgent: 'ua', ip: '::1' });
    const received: string[] = [];
    const unsubscribe = await subscribeSessionEvents(listener, session.id, (event) =>
      received.push(event.status?.state ?? 'no status'),
    );
    try {
      await service.redeemLoginCode((await service.currentLoginCode(nonce)).code);
      await service.markLoggedIn(session.id, { userid: 'alice', accountId: 'a1' });
      const deadline = Date.now() + 3000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received).to.deep.equal(['scanned', 'loggedin']);
    } finally {
      await unsubscribe();
    }
  });
});
