// Business events cross instances through Redis: an audited login committed by one instance and a scan
// emitted by it reach the subscriber of another instance (another connection), in order.
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
import { createLogger } from '../../../../auth-server/common/logging.js';
import { createAuditService } from '../../../../auth-server/ns/audit/service.js';
import type { BusinessEvent } from '../../../../auth-server/ns/events/model.js';
import { createBusinessEvents, withBusinessEvents } from '../../../../auth-server/ns/events/service.js';
import { requireService } from '../../../helpers/services.js';
import { deleteKeys, probeRedis } from '../../common/kv/redis-service.js';

const logger = createLogger({ level: 'silent', format: 'json' });

describe('ns business events over Redis', () => {
  let uri: string;
  const prefix = `nextauth-test-events-${randomBytes(4).toString('hex')}:`;
  let dataDir: string;
  let knex: Knex;
  let instanceA: RedisKv;
  let instanceB: RedisKv;

  before(async function () {
    uri = await requireService(this, 'redis', probeRedis);
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-bus-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    instanceA = new RedisKv(uri, { prefix });
    instanceB = new RedisKv(uri, { prefix });
  });
  after(async () => {
    await instanceA?.close();
    await instanceB?.close();
    await knex?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (uri) await deleteKeys(uri, prefix);
  });

  it('a login committed on A and a scan emitted on A reach a subscriber on B', async () => {
    const clock = new FixedClock();
    const onA = createBusinessEvents({ kv: instanceA, clock, random: systemRandom, logger });
    const onB = createBusinessEvents({ kv: instanceB, clock, random: systemRandom, logger });
    const heard: BusinessEvent[] = [];
    let done: () => void = () => {};
    const both = new Promise<void>((resolve) => {
      done = resolve;
    });
    const unsubscribe = await onB.subscribe((event) => {
      heard.push(event);
      if (heard.length === 2) done();
    });
    const server = { id: 'srv1', name: 'acme' };
    await onA.emit({ type: 'CONFIRMSCAN', server, session: 'sess1', userid: 'alice', account: 'acct1' });
    const audit = withBusinessEvents(createAuditService({ db: knex, clock, random: systemRandom }), onA);
    await knex.transaction(async (trx) => {
      await audit.record(
        {
          type: 'session.login',
          server,
          actor: { kind: 'account', id: 'acct1' },
          subject: { kind: 'user', id: 'alice' },
          details: { session: 'sess1' },
        },
        trx,
      );
    });
    await both;
    await unsubscribe();
    expect(heard.map((e) => [e.type, e.session, e.userid])).to.deep.equal([
      ['CONFIRMSCAN', 'sess1', 'alice'],
      ['LOGIN', 'sess1', 'alice'],
    ]);
  });
});
