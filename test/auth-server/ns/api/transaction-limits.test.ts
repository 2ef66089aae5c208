// Per-account limits on transaction creation (server policy `transactionsPerMinute`, `maxOpenTransactions`)
// over a real listener: racing creations get exactly what the policy allows, the rest 429 problem JSON with
// Retry-After, and a refused creation stores nothing and sends nothing.
import { expect } from 'chai';
import { createTransactionRepository } from '../../../../auth-server/ns/transactions/repository.js';
import { api, insertAccount } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';

describe('ns REST v2 transaction limits per account', () => {
  let h: Harness;
  let call: ReturnType<typeof api>;

  beforeEach(async () => {
    h = await startHarness();
    call = api(h);
  });
  afterEach(() => h.close());

  const policy = async (p: Record<string, unknown>) => {
    const res = await call('PATCH', 'servers/acme', rootKey, { policy: p });
    expect(res.status, await res.clone().text()).to.equal(200);
  };
  const account = (userid = 'alice') =>
    insertAccount(h, userid, 'acme', { push_key_thumbprint: 'k'.repeat(43) });
  const create = (target: { accountid: string } | { userid: string }, amount = '1.00') =>
    call('POST', 'transactions', rootKey, {
      server: 'acme',
      ...target,
      amount,
      beneficiary: 'Shop',
      description: 'Order',
    });
  const rows = async () => h.knex('ns_transactions').select('id').orderBy('id');

  async function refused(res: Response, reason: string): Promise<void> {
    expect(res.status).to.equal(429);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).to.match(/^[1-9]\d*$/);
    expect(await res.json()).to.include({ status: 429, reason });
  }

  it('racing creations for one account: exactly transactionsPerMinute go through, the rest 429 and store or send nothing', async () => {
    await policy({ transactionsPerMinute: 4, maxOpenTransactions: 20 });
    const accountid = await account();
    const posts = h.mcPosts.length;
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => create({ accountid }, `${i}.00`)));
    expect(answers.filter((a) => a.status === 201)).to.have.length(4);
    const over = answers.filter((a) => a.status !== 201);
    expect(over).to.have.length(5);
    for (const res of over) await refused(res, 'transaction_rate_limited');
    expect(await rows()).to.have.length(4);
    expect(h.mcPosts.length - posts).to.equal(4);
    // Another account is not held back; the next minute the first one gets transactions again.
    expect((await create({ accountid: await account('bob') })).status).to.equal(201);
    h.clock.advance(60_000);
    expect((await create({ accountid })).status).to.equal(201);
  });

  it('racing creations past maxOpenTransactions: never more open than the policy; answered and expired ones make room', async () => {
    await policy({ transactionsPerMinute: 60, maxOpenTransactions: 2 });
    const accountid = await account();
    const posts = h.mcPosts.length;
    const answers = await Promise.all(Array.from({ length: 6 }, () => create({ accountid })));
    const created = answers.filter((a) => a.status === 201);
    // Inserted first, counted after: racing creations may both give way, never both pass the limit.
    expect(created.length).to.be.at.least(1).and.at.most(2);
    for (const res of answers.filter((a) => a.status !== 201))
      await refused(res, 'too_many_open_transactions');
    expect(await rows()).to.have.length(created.length);
    expect(h.mcPosts.length - posts).to.equal(created.length);
    // Fill up to the limit, then one more is refused with nothing stored.
    while ((await rows()).length < 2) expect((await create({ accountid })).status).to.equal(201);
    const before = await rows();
    await refused(await create({ accountid }), 'too_many_open_transactions');
    expect(await rows()).to.deep.equal(before);
    // An answered transaction is no longer open.
    const [first] = before as { id: string }[];
    expect(
      await createTransactionRepository(h.knex).answer(
        first?.id ?? '',
        h.clock.now(),
        'declined',
        accountid,
        null,
      ),
    ).to.equal(true);
    expect((await create({ accountid })).status).to.equal(201);
    await refused(await create({ accountid }), 'too_many_open_transactions');
    // Expired ones neither (the policy's transactionTimeoutSeconds is 300 by default).
    h.clock.advance(301_000);
    expect((await create({ accountid })).status).to.equal(201);
  });

  it("a transaction to a userid counts for each of the user's accounts: one full account refuses it whole", async () => {
    await policy({ transactionsPerMinute: 60, maxOpenTransactions: 1 });
    const phone1 = await account('carol');
    await account('carol');
    expect((await create({ accountid: phone1 })).status).to.equal(201);
    const before = await rows();
    const posts = h.mcPosts.length;
    await refused(await create({ userid: 'carol' }), 'too_many_open_transactions');
    expect(await rows()).to.deep.equal(before);
    expect(h.mcPosts.length).to.equal(posts);
  });

  it('the policy knobs are validated (1–60 per minute, 1–20 open)', async () => {
    for (const bad of [
      { transactionsPerMinute: 0 },
      { transactionsPerMinute: 61 },
      { maxOpenTransactions: 0 },
      { maxOpenTransactions: 21 },
      { maxOpenTransactions: '3' },
    ]) {
      const res = await call('PATCH', 'servers/acme', rootKey, { policy: bad });
      expect(res.status, JSON.stringify(bad)).to.equal(400);
    }
    const res = await call('GET', 'servers/acme', rootKey);
    expect(((await res.json()) as { policy: Record<string, unknown> }).policy).to.include({
      transactionsPerMinute: 10,
      maxOpenTransactions: 5,
    });
  });
});
