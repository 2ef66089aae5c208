// Enrol page views on every database: N browsers opening one view at once (exactly one claims it), the
// status after the token created an account, and the expired-token sweep taking the views with it.
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createEnrolTokenRepository } from '../../../../auth-server/ns/accounts/enrol-tokens.js';
import {
  createEnrolViewService,
  type EnrolViewError,
  type EnrolViewService,
} from '../../../../auth-server/ns/accounts/enrol-view-service.js';
import type { VirtualServer } from '../../../../auth-server/ns/servers/model.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { publisherJwk } from '../api/fixtures-admin.js';

describeEachDatabase('ns enrol views', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  const uri = 'nextauth://enrol?d=eyJ2IjoxfQ';
  let server: VirtualServer;
  let views: EnrolViewService;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    await db().knex('ns_virtual_servers').del();
    const servers = createVirtualServerRepository(db().knex, clock);
    server = await servers.create({ name: 'acme', displayName: 'ACME' });
    views = createEnrolViewService({
      db: db().knex,
      clock,
      random: systemRandom,
      servers,
      subscribe: async () => async () => {},
    });
  });

  /** An enrol token (by its hash) with a view; returns the view token. */
  const withView = async (tokenHash: string) => {
    const expiresAt = new Date(clock.now() + 600_000);
    await createEnrolTokenRepository(db().knex).save({
      tokenHash,
      serverId: server.id,
      userid: 'alice',
      announceInfo: null,
      createdAt: new Date(clock.now()),
      expiresAt,
    });
    return views.create(db().knex, { tokenHash, serverId: server.id, uri, expiresAt });
  };

  it('of N browsers opening a view at once exactly one claims it', async () => {
    const viewToken = await withView(sha256Hex('t1'));
    const handle = db().open({ min: 0, max: 8 });
    const racing = createEnrolViewService({
      db: handle,
      clock,
      random: systemRandom,
      servers: createVirtualServerRepository(handle, clock),
      subscribe: async () => async () => {},
    });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => racing.open('acme', viewToken, undefined)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).to.have.length(1);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as EnrolViewError).code).to.equal('enrol_view_claimed');
    const opened = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<EnrolViewService['open']>>>).value;
    expect(opened.uri).to.equal(uri);
    const [row] = await db().knex('ns_enrol_views').select('claim_hash');
    expect(row.claim_hash).to.equal(sha256Hex(opened.browserSecret ?? ''));
  });

  it('reports enrolled with the account’s description once the token created it', async () => {
    const tokenHash = sha256Hex('t2');
    const viewToken = await withView(tokenHash);
    const { browserSecret } = await views.open('acme', viewToken, undefined);
    expect((await views.status('acme', browserSecret ?? ''))?.status.state).to.equal('waiting');
    await db()
      .knex('ns_accounts')
      .insert({
        id: 'acc-1',
        server_id: server.id,
        userid: 'alice',
        public_jwk: JSON.stringify(publisherJwk()),
        key_thumbprint: 'x'.repeat(43),
        app_instance_id: 'inst-1',
        sfs_issuer: 'http://127.0.0.1/sfs',
        description: 'Pixel 9',
        client_version: null,
        created_at: clock.now(),
      });
    const tokens = createEnrolTokenRepository(db().knex);
    expect(await tokens.consume(tokenHash, server.id, clock.now())).to.equal(true);
    await tokens.setAccount(tokenHash, 'acc-1');
    expect((await views.status('acme', browserSecret ?? ''))?.status).to.deep.include({
      state: 'enrolled',
      description: 'Pixel 9',
    });
    try {
      await views.open('acme', viewToken, browserSecret);
      expect.fail('opened a used view');
    } catch (err) {
      expect((err as EnrolViewError).code).to.equal('enrol_view_used');
    }
  });

  it('the expired-token sweep removes the views with their tokens', async () => {
    await withView(sha256Hex('t3'));
    clock.advance(601_000);
    expect(await createEnrolTokenRepository(db().knex).deleteExpired(clock.now())).to.equal(1);
    expect(await db().knex('ns_enrol_views').select('*')).to.deep.equal([]);
  });
});
