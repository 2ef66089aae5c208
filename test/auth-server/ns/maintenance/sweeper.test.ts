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
import { createTransactionRepository } from '../../../../auth-server/ns/transactions/repository.js';
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
    await knex('ns_transactions').del();
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

  /** An unanswered payment transaction of alice's, as NS stores it (the signed data is never checked here). */
  const saveTransaction = (
    tx: ReturnType<typeof createTransactionRepository>,
    tid: string,
    createdAt: number,
    expiresAt: number,
  ) =>
    tx.save({
      id: tid,
      serverId: f.serverId,
      userid: 'alice',
      accountId: null,
      type: 'payment',
      locale: 'en',
      data: {
        purpose: 'nextauth-transaction-v1',
        tid,
        server: 'https://id.example.test/ns/acme',
        type: 'payment',
        template: { id: 'payment:en', sha256: 'h'.repeat(43) },
        locale: 'en',
        values: { amount: '1.00' },
      },
      template: 'Pay {amount}',
      authorizationDetails: null,
      createdAt,
      expiresAt,
    });

  it('transactions: unanswered ones past expiry become `expired`; 30 days after expiry every one goes, with its receipt', async () => {
    const day = 24 * hour;
    const tx = createTransactionRepository(knex);
    const id = (name: string) => name.padEnd(22, 'x');
    const transaction = (name: string, expiresAt: number) =>
      saveTransaction(tx, id(name), expiresAt - 5 * minute, expiresAt);
    const now = f.clock.now();
    await transaction('open', now + minute);
    await transaction('just-expired', now - minute);
    await transaction('approved', now + 2 * minute);
    expect(await tx.answer(id('approved'), now, 'approved', 'acc', '{"receipt":1}')).to.equal(true);
    await transaction('declined-long-ago', now - 31 * day);
    expect(
      await tx.answer(id('declined-long-ago'), now - 31 * day - minute, 'declined', 'acc', null),
    ).to.equal(true);
    await transaction('expired-long-ago', now - 30 * day - minute);
    await transaction('receipt-29-days', now - 29 * day);
    expect(await tx.answer(id('receipt-29-days'), now - 29 * day - minute, 'approved', 'acc', '{}')).to.equal(
      true,
    );
    const status = async () =>
      Object.fromEntries(
        (
          (await knex('ns_transactions').select('id', 'status')) as { id: string; status: string | null }[]
        ).map((r) => [r.id.replace(/x+$/, ''), r.status]),
      );

    const sweeper = createSweeper(options({ transactions: tx }));
    expect(await sweeper.sweep()).to.deep.equal({
      sessions: 0,
      enrolTokens: 0,
      transactionsExpired: 2,
      transactions: 2,
    });
    expect(await status()).to.deep.equal({
      open: null,
      'just-expired': 'expired',
      approved: 'approved',
      'receipt-29-days': 'approved',
    });
    // What a reader sees matches the row; the answered ones keep their receipts.
    expect((await tx.find(id('just-expired')))?.outcome).to.equal(null);
    expect((await tx.find(id('receipt-29-days')))?.receipt).to.equal('{}');
    // An expired transaction cannot be answered, marked or not.
    expect(await tx.answer(id('just-expired'), f.clock.now(), 'approved', 'acc', '{}')).to.equal(false);

    // Time passes: the open one expires and is marked, the 29-day receipt reaches its 30 days.
    f.clock.advance(day + 2 * minute);
    expect(await sweeper.sweep()).to.deep.include({ transactionsExpired: 1, transactions: 1 });
    expect(await status()).to.deep.equal({
      open: 'expired',
      'just-expired': 'expired',
      approved: 'approved',
    });
    expect(await sweeper.sweep()).to.deep.include({ transactionsExpired: 0, transactions: 0 });
    f.clock.advance(30 * day);
    expect(await sweeper.sweep()).to.deep.include({ transactionsExpired: 0, transactions: 3 });
    expect(await status()).to.deep.equal({});
  });

  it('marking expired transactions works in batches and never touches an answered one', async () => {
    const tx = createTransactionRepository(knex);
    const now = f.clock.now();
    for (let i = 0; i < 7; i++) {
      const tid = `batch-${i}`.padEnd(22, 'x');
      await saveTransaction(tx, tid, now - 10 * minute, now - minute + i);
    }
    expect(await tx.answer('batch-0'.padEnd(22, 'x'), now - 2 * minute, 'declined', 'acc', null)).to.equal(
      true,
    );
    expect(await tx.markExpired(now, 2)).to.equal(6);
    expect(await tx.markExpired(now, 2)).to.equal(0);
    const statuses = (await knex('ns_transactions').orderBy('id').pluck('status')) as string[];
    expect(statuses).to.deep.equal(['declined', ...Array(6).fill('expired')]);
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
