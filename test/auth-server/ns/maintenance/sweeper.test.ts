// The NS sweeper: expired sessions (with their login codes), enrol tokens and push requests go after a grace
// period; live rows stay; several instances share one round through the KV lock.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { deleteExpiredRows } from '../../../../auth-server/common/db/sweep.js';
import { createEnrolTokenRepository } from '../../../../auth-server/ns/accounts/enrol-tokens.js';
import { createSweeper, type SweeperOptions } from '../../../../auth-server/ns/maintenance/sweeper.js';
import { createPushRepository } from '../../../../auth-server/ns/push/repository.js';
import { createSessionRepository } from '../../../../auth-server/ns/sessions/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { type SessionFixture, sessionFixture, silentLogger } from '../sessions/fixtures.js';

const browser = { server: 'acme', userAgent: 'Mozilla/5.0 (X11) Firefox/140', ip: '192.0.2.10' };
const minute = 60_000;
const hour = 60 * minute;

describeEachDatabase('ns sweeper', (db) => {
  let f: SessionFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    await knex('ns_enrol_tokens').del();
    await knex('ns_push_requests').del();
    f = await sessionFixture(knex);
  });
  afterEach(() => f.kv.close());

  const options = (extra: Partial<SweeperOptions> = {}): SweeperOptions => ({
    sessions: createSessionRepository(knex),
    enrolTokens: createEnrolTokenRepository(knex),
    kv: f.kv,
    clock: f.clock,
    logger: silentLogger,
    ...extra,
  });

  async function enrolToken(hash: string, expiresAt: number): Promise<void> {
    await createEnrolTokenRepository(knex).save({
      tokenHash: hash.padEnd(64, '0'),
      serverId: f.serverId,
      userid: 'alice',
      announceInfo: null,
      createdAt: new Date(expiresAt - 10 * minute),
      expiresAt: new Date(expiresAt),
    });
  }

  const count = async (table: string) => Number((await knex(table).count({ n: '*' }))[0]?.n);

  it('removes sessions expired longer than the grace period, with their login codes, and keeps the rest', async () => {
    const old = await f.service.createSession(browser);
    await f.service.currentLoginCode(old.nonce);
    f.clock.advance(2 * hour);
    const recent = await f.service.createSession(browser);
    await f.service.currentLoginCode(recent.nonce);
    expect(await count('ns_login_codes')).to.equal(2);

    // `old` expired (120 s login timeout) almost two hours ago; `recent` is live.
    const counts = await createSweeper(options()).sweep();
    expect(counts).to.deep.equal({ sessions: 1, enrolTokens: 0 });
    expect((await knex('ns_sessions').pluck('id')) as string[]).to.deep.equal([recent.session.id]);
    expect(await count('ns_login_codes')).to.equal(1);
    expect((await f.service.getStatus(recent.nonce)).state).to.equal('waiting');
  });

  it('keeps an expired session within the grace period (a late browser still hears "expired")', async () => {
    const { nonce } = await f.service.createSession(browser);
    f.clock.advance(30 * minute);
    expect(await createSweeper(options()).sweep()).to.deep.equal({ sessions: 0, enrolTokens: 0 });
    expect((await f.service.getStatus(nonce)).state).to.equal('expired');
  });

  it('removes expired enrol tokens only, in batches across any backlog', async () => {
    const now = f.clock.now();
    for (let i = 0; i < 7; i++) await enrolToken(`a${i}`, now - 2 * hour - i);
    await enrolToken('b', now + 5 * minute);
    await enrolToken('c', now - 10 * minute);
    // Batches of 3: three select/delete pairs clear the backlog of 7.
    const target = { table: 'ns_enrol_tokens', keyColumn: 'token_hash', expiresAtColumn: 'expires_at' };
    expect(await deleteExpiredRows(knex, target, now - hour, 3)).to.equal(7);
    await enrolToken('a0', now - 2 * hour);
    const sweeper = createSweeper(options());
    expect(await sweeper.sweep()).to.deep.equal({ sessions: 0, enrolTokens: 1 });
    expect(((await knex('ns_enrol_tokens').pluck('token_hash')) as string[]).sort()).to.deep.equal(
      ['b'.padEnd(64, '0'), 'c'.padEnd(64, '0')].sort(),
    );
    expect(await sweeper.sweep()).to.deep.equal({ sessions: 0, enrolTokens: 0 });
  });

  it('removes push requests expired longer than the grace period, open or used, and keeps the rest', async () => {
    const now = f.clock.now();
    const push = createPushRepository(knex);
    const request = (id: string, expiresAt: number) =>
      push.save({
        id: id.padEnd(22, 'x'),
        serverId: f.serverId,
        sessionId: 's'.repeat(64),
        accountId: 'a'.repeat(64),
        codeHash: '0'.repeat(64),
        match: 42,
        createdAt: expiresAt - 2 * minute,
        expiresAt,
      });
    await request('old-open', now - 2 * hour);
    await request('old-used', now - 3 * hour);
    await push.consume('old-used'.padEnd(22, 'x'), now - 3 * hour - minute, 'opened');
    await request('in-grace', now - 10 * minute);
    await request('live', now + minute);
    const sweeper = createSweeper(options({ pushRequests: push }));
    expect(await sweeper.sweep()).to.deep.equal({ sessions: 0, enrolTokens: 0, pushRequests: 2 });
    expect(((await knex('ns_push_requests').pluck('id')) as string[]).sort()).to.deep.equal(
      ['in-grace'.padEnd(22, 'x'), 'live'.padEnd(22, 'x')].sort(),
    );
    // The live one is still what the phone can redeem.
    expect(await push.countOpen('a'.repeat(64), now)).to.equal(1);
    expect(await sweeper.sweep()).to.deep.equal({ sessions: 0, enrolTokens: 0, pushRequests: 0 });
  });

  it('one sweeper per round across instances: the KV lock decides', async () => {
    await enrolToken('a', f.clock.now() - 2 * hour);
    const calls: string[] = [];
    const tracked = (name: string) =>
      createSweeper(
        options({
          intervalMs: 10 * minute,
          enrolTokens: {
            deleteExpired: (before) => {
              calls.push(name);
              return createEnrolTokenRepository(knex).deleteExpired(before);
            },
          },
        }),
      );
    const [a, b] = [tracked('a'), tracked('b')];
    expect(await Promise.all([a.round(), b.round()])).to.have.members([true, false]);
    expect(calls).to.have.length(1);
    // The lock expires before the next round.
    f.clock.advance(10 * minute);
    expect(await b.round()).to.equal(true);
  });

  it('a failing sweep leaves every row in place', async () => {
    await enrolToken('a', f.clock.now() - 2 * hour);
    const sweeper = createSweeper(
      options({
        sessions: {
          deleteExpired: async () => {
            throw new Error('database unavailable');
          },
        },
      }),
    );
    let error: unknown;
    await sweeper.sweep().catch((err: unknown) => {
      error = err;
    });
    expect((error as Error).message).to.equal('database unavailable');
    expect(await count('ns_enrol_tokens')).to.equal(1);
  });
});
