// REST v2 accounts (phones) over a real listener: list with filters and keyset paging, get, block and unblock
// (idempotent, audited once even when raced), PATCH (updateAccountUser), delete one and all of a user's;
// the `accounts` role on its own server only; bad input refused with 4xx and no change; a blocked phone's
// login refused over the real mobile channel; every answer as the OpenAPI document says.
import { expect } from 'chai';
import { mobileFixture, rejection } from '../mobile/fixtures.js';
import { checkedApi, insertAccount, publisherJwk, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();
const listPath = '/api/v2/servers/{server}/accounts';
const accountPath = '/api/v2/servers/{server}/accounts/{account}';
const userAccountsPath = '/api/v2/servers/{server}/users/{userid}/accounts';

interface AccountWire {
  id: string;
  server: string;
  userid: string;
  description: string | null;
  blockedAt: string | null;
  keyThumbprint: string;
}

const wireFields = [
  'id',
  'server',
  'userid',
  'description',
  'clientVersion',
  'createdAt',
  'lastLoginAt',
  'lastPushAt',
  'blockedAt',
  'keyThumbprint',
];

describe('ns REST v2 accounts', () => {
  let h: Harness;
  let send: ReturnType<typeof checkedApi>;
  beforeEach(async () => {
    h = await startHarness();
    send = checkedApi(h, checker);
  });
  afterEach(() => h.close());

  const enrolled = (userid: string, server = 'acme', extra: Record<string, unknown> = {}) =>
    insertAccount(h, userid, server, extra);

  const a = (id: string, server = 'acme') => `servers/${server}/accounts/${id}`;
  const list = (query = '', key = rootKey, server = 'acme') =>
    send('GET', `servers/${server}/accounts${query}`, listPath, key);
  const get = (id: string, key = rootKey, server = 'acme') => send('GET', a(id, server), accountPath, key);
  const block = (id: string, key = rootKey, server = 'acme') =>
    send('POST', `${a(id, server)}/block`, `${accountPath}/block`, key);
  const unblock = (id: string, key = rootKey, server = 'acme') =>
    send('POST', `${a(id, server)}/unblock`, `${accountPath}/unblock`, key);
  const patch = (id: string, body: unknown, key = rootKey, server = 'acme') =>
    send('PATCH', a(id, server), accountPath, key, body);
  const del = (id: string, key = rootKey, server = 'acme') => send('DELETE', a(id, server), accountPath, key);
  const delOfUser = (userid: string, key = rootKey, server = 'acme') =>
    send('DELETE', `servers/${server}/users/${encodeURIComponent(userid)}/accounts`, userAccountsPath, key);

  const ids = (body: Record<string, unknown>) => (body.accounts as AccountWire[]).map((x) => x.id);
  const accountEvents = async () =>
    (await h.audit.query({ subject: { kind: 'account' }, order: 'asc' })).events;
  const state = async () => ({
    accounts: await h.knex('ns_accounts').select('*').orderBy('id'),
    users: await h.knex('ns_users').select('*').orderBy('id'),
    audit: Number((await h.knex('ns_audit_events').count({ n: '*' }))[0]?.n),
  });

  it('lists in creation order with userid and blocked filters and keyset paging; the wire form', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push(await enrolled(i % 2 ? 'bob' : 'alice'));
    await enrolled('alice', 'other');
    await block(made[2] ?? '');
    const all = await list();
    expect(all.status).to.equal(200);
    expect(ids(all.body)).to.deep.equal(made);
    expect(all.body.next_marker).to.equal(null);
    const first = (all.body.accounts as Record<string, unknown>[])[0] ?? {};
    expect(Object.keys(first).sort()).to.deep.equal([...wireFields].sort());
    expect(first).to.deep.include({
      id: made[0],
      server: 'acme',
      userid: 'alice',
      description: 'Pixel 9',
      clientVersion: '1.2.3',
      lastLoginAt: null,
      lastPushAt: null,
      blockedAt: null,
    });
    expect(JSON.stringify(all.body)).to.not.match(/"(x|y|kty|crv|publicJwk|public_jwk)"/);

    const seen: string[] = [];
    let marker: string | null = null;
    let pages = 0;
    do {
      const page = await list(`?limit=3${marker ? `&marker=${marker}` : ''}`);
      expect(page.status).to.equal(200);
      seen.push(...ids(page.body));
      marker = page.body.next_marker as string | null;
      pages++;
    } while (marker);
    expect(seen).to.deep.equal(made);
    expect(pages).to.equal(3);

    expect(ids((await list('?userid=bob')).body)).to.deep.equal([made[1], made[3], made[5]]);
    expect(ids((await list('?blocked=true')).body)).to.deep.equal([made[2]]);
    expect(ids((await list('?blocked=false&userid=alice')).body)).to.deep.equal([made[0], made[4], made[6]]);
    expect(ids((await list('?userid=Alice')).body)).to.deep.equal([]);
    const one = await get(made[1] ?? '');
    expect(one.status).to.equal(200);
    expect(one.body).to.deep.include({
      id: made[1],
      userid: 'bob',
      keyThumbprint: `thumb-${made[1]}`.padEnd(43, 'x'),
    });
  });

  it('pages accounts created in the same millisecond exactly once (id breaks ties)', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(await enrolled('alice'));
      h.clock.advance(-1);
    }
    const seen: string[] = [];
    let marker: string | null = null;
    do {
      const page = await list(`?limit=2${marker ? `&marker=${marker}` : ''}`);
      seen.push(...ids(page.body));
      marker = page.body.next_marker as string | null;
    } while (marker);
    expect(seen).to.deep.equal([...made].sort());
  });

  it('block and unblock are idempotent and recorded only when the state changed', async () => {
    const id = await enrolled('alice');
    const blocked = await block(id);
    expect(blocked.status).to.equal(200);
    expect(blocked.body.blockedAt).to.equal(new Date(h.clock.now()).toISOString());
    h.clock.advance(1000);
    const again = await block(id);
    expect(again.status).to.equal(200);
    expect(again.body.blockedAt).to.equal(blocked.body.blockedAt);
    const unblocked = await unblock(id);
    expect(unblocked.body.blockedAt).to.equal(null);
    expect((await unblock(id)).status).to.equal(200);
    const events = await accountEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['account.blocked', 'account.unblocked']);
    expect(events[0]).to.deep.include({
      actor: { kind: 'apikey', id: 'root' },
      subject: { kind: 'account', id },
      details: { userid: 'alice' },
    });
    expect(events[0]?.server?.name).to.equal('acme');
  });

  it('of concurrent blocks (and unblocks) exactly one changes the account and is recorded', async () => {
    const id = await enrolled('alice');
    const blocks = await Promise.all(Array.from({ length: 12 }, () => block(id)));
    expect(blocks.map((r) => r.status)).to.deep.equal(Array(12).fill(200));
    expect(new Set(blocks.map((r) => r.body.blockedAt)).size).to.equal(1);
    expect((await accountEvents()).map((e) => e.type)).to.deep.equal(['account.blocked']);
    h.clock.advance(1000);
    const unblocks = await Promise.all(Array.from({ length: 12 }, () => unblock(id)));
    expect(unblocks.every((r) => r.status === 200 && r.body.blockedAt === null)).to.equal(true);
    expect((await accountEvents()).map((e) => e.type)).to.deep.equal([
      'account.blocked',
      'account.unblocked',
    ]);
  });

  it('PATCH moves the account to another userid and sets the description, recorded with what changed', async () => {
    const id = await enrolled('alice');
    const moved = await patch(id, { userid: 'alice@example.com', description: '  Work phone ' });
    expect(moved.status).to.equal(200);
    expect(moved.body).to.deep.include({ userid: 'alice@example.com', description: 'Work phone' });
    expect((await get(id)).body).to.deep.include({ userid: 'alice@example.com' });
    h.clock.advance(1000);
    const cleared = await patch(id, { description: null });
    expect(cleared.body.description).to.equal(null);
    // The same values again change nothing and record nothing.
    expect((await patch(id, { userid: 'alice@example.com', description: null })).status).to.equal(200);
    const events = await accountEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['account.updated', 'account.updated']);
    expect(events[0]?.details).to.deep.equal({
      changed: ['userid', 'description'],
      userid: 'alice@example.com',
      previousUserid: 'alice',
      description: 'Work phone',
    });
    expect(ids((await list('?userid=alice')).body)).to.deep.equal([]);
  });

  it("DELETE removes one account; DELETE …/users/{userid}/accounts all of a user's, keeping the user", async () => {
    const one = await enrolled('alice');
    const two = await enrolled('alice');
    const bobs = await enrolled('bob');
    const elsewhere = await enrolled('alice', 'other');
    await send('PUT', 'servers/acme/users/alice', '/api/v2/servers/{server}/users/{userid}', rootKey, {
      name: 'Alice',
    });
    h.clock.advance(1000);
    const removed = await del(one);
    expect(removed.status).to.equal(200);
    expect(removed.body).to.deep.include({ id: one, userid: 'alice' });
    expect((await get(one)).status).to.equal(404);
    expect((await del(one)).status).to.equal(404);
    const three = await enrolled('alice');
    h.clock.advance(1000);
    const all = await delOfUser('alice');
    expect(all.status).to.equal(200);
    expect(all.body).to.deep.equal({ userid: 'alice', accountsDeleted: 2 });
    expect((await delOfUser('alice')).body).to.deep.equal({ userid: 'alice', accountsDeleted: 0 });
    expect((await delOfUser('nobody')).body).to.deep.equal({ userid: 'nobody', accountsDeleted: 0 });
    const left = (await h.knex('ns_accounts').select('id').orderBy('id')).map((r: { id: string }) => r.id);
    expect(left).to.deep.equal([bobs, elsewhere].sort());
    expect(await h.knex('ns_users').where({ userid: 'alice' })).to.have.length(1);
    const events = await accountEvents();
    expect(events.map((e) => e.type)).to.deep.equal(Array(3).fill('account.deleted'));
    expect(events[0]?.subject.id).to.equal(one);
    // The two of one request share a time; their order is the ids'.
    expect(events.slice(1).map((e) => e.subject.id)).to.have.members([two, three]);
    expect(events[0]?.details).to.deep.equal({
      userid: 'alice',
      keyThumbprint: `thumb-${one}`.padEnd(43, 'x'),
    });
  });

  describe('roles', () => {
    it('every endpoint works with an accounts key on its own server and with root', async () => {
      const accounts = await storedKey(h, 'acme', ['accounts']);
      for (const key of [accounts.secret, rootKey]) {
        const id = await enrolled('carol');
        expect((await list('', key)).status).to.equal(200);
        expect((await get(id, key)).status).to.equal(200);
        expect((await block(id, key)).status).to.equal(200);
        expect((await unblock(id, key)).status).to.equal(200);
        expect((await patch(id, { description: 'x' }, key)).status).to.equal(200);
        expect((await del(id, key)).status).to.equal(200);
        await enrolled('carol');
        expect((await delOfUser('carol', key)).body.accountsDeleted).to.equal(1);
      }
      const events = await accountEvents();
      expect(events.filter((e) => e.actor.id === accounts.id)).to.have.length(5);
    });

    it('other roles get 403 missing_role, keys of another server 404; nothing changes', async () => {
      const id = await enrolled('carol');
      const theirs = await enrolled('carol', 'other');
      const calls = (key: string, server = 'acme', account = id) => [
        list('', key, server),
        get(account, key, server),
        block(account, key, server),
        unblock(account, key, server),
        patch(account, { description: 'x' }, key, server),
        del(account, key, server),
        delOfUser('carol', key, server),
      ];
      const before = await state();
      for (const roles of [['sessions'], ['users', 'servers', 'audit']] as const) {
        const key = await storedKey(h, 'acme', [...roles]);
        for (const res of await Promise.all(calls(key.secret))) {
          expect(res.status).to.equal(403);
          expect(res.body.reason).to.equal('missing_role');
        }
      }
      const otherKey = await storedKey(h, 'other', ['accounts']);
      for (const res of await Promise.all(calls(otherKey.secret))) expect(res.status).to.equal(404);
      // An acme key cannot reach another server's account through its own server's path either.
      const acmeKey = await storedKey(h, 'acme', ['accounts']);
      for (const res of await Promise.all([
        get(theirs, acmeKey.secret),
        block(theirs, acmeKey.secret),
        unblock(theirs, acmeKey.secret),
        patch(theirs, { description: 'x' }, acmeKey.secret),
        del(theirs, acmeKey.secret),
      ]))
        expect(res.status).to.equal(404);
      expect(await state()).to.deep.equal(before);
      expect((await list('', 'wrong-key-0123456789')).status).to.equal(401);
    });
  });

  describe('bad input: 4xx and nothing changes', () => {
    it('refuses bad queries: markers, booleans, limits, unknown and repeated parameters (400)', async () => {
      for (let i = 0; i < 3; i++) await enrolled('alice');
      const before = await state();
      const tampered = Buffer.from(JSON.stringify({ v: 1, t: -1, i: 'x' })).toString('base64url');
      for (const q of [
        '?marker=%%%',
        '?marker=not-a-marker',
        `?marker=${tampered}`,
        `?marker=${'A'.repeat(200)}`,
        '?blocked=yes',
        '?blocked=1',
        '?blocked=TRUE',
        '?blocked=',
        '?limit=0',
        '?limit=1001',
        '?limit=ten',
        '?foo=1',
        '?sort=createdAt',
        '?userid=',
        `?userid=${'u'.repeat(256)}`,
        '?blocked=true&blocked=false',
        '?limit=1&limit=2',
      ]) {
        const res = await list(q);
        expect(res.status, q).to.equal(400);
        expect(res.body.code, q).to.equal('bad_request');
      }
      expect(await state()).to.deep.equal(before);
    });

    it('refuses bad PATCH bodies (400), malformed ids and unknown servers (404), big bodies (413)', async () => {
      const id = await enrolled('alice');
      const before = await state();
      for (const body of [
        {},
        { description: 'x'.repeat(101) },
        { description: '   ' },
        { description: 5 },
        { userid: '' },
        { userid: 'u'.repeat(256) },
        { userid: 'bob', publicJwk: publisherJwk() },
        { blockedAt: null },
      ]) {
        const res = await patch(id, body);
        expect(res.status, JSON.stringify(body).slice(0, 60)).to.equal(400);
        expect(res.body.code).to.equal('invalid_body');
      }
      expect((await patch(id, '{"description":')).status).to.equal(400);
      expect(
        (await send('PATCH', a(id), accountPath, rootKey, 'x', { 'content-type': 'text/plain' })).status,
      ).to.equal(415);
      expect((await patch(id, { description: 'y'.repeat(70_000) })).status).to.equal(413);
      for (const bad of ['x'.repeat(33), 'a.b', 'nope']) {
        expect((await get(bad)).status, bad).to.equal(404);
        expect((await block(bad)).status, bad).to.equal(404);
        expect((await del(bad)).status, bad).to.equal(404);
      }
      expect((await block(id, rootKey, 'nope')).status).to.equal(404);
      expect((await delOfUser('u'.repeat(256))).status).to.equal(404);
      expect(await state()).to.deep.equal(before);
    });
  });

  it("a blocked phone's login is refused at confirm and at scan over the real mobile channel", async () => {
    const f = await mobileFixture(h.knex);
    try {
      const { phone, accountId } = await f.enrol('dave');
      const channel = await f.open({ phone });
      const first = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code: first.code });
      // Blocked while the phone shows the login: the approval is refused and the session stays unused.
      expect((await block(accountId)).status).to.equal(200);
      const attestation = await f.attestFor(channel, phone, 'login');
      expect(await rejection(channel.request('login.confirm', { login, attestation }))).to.have.property(
        'code',
        'account_blocked',
      );
      const session = async (id: string) => (await h.knex('ns_sessions').where({ id }).first()).state;
      expect(await session(first.sessionId)).to.equal('scanned');
      const second = await f.browserLogin();
      expect(await rejection(channel.request('login.scan', { code: second.code }))).to.have.property(
        'code',
        'account_blocked',
      );
      expect(await session(second.sessionId)).to.equal('waiting');
      // Unblocked, the same phone logs in again.
      expect((await unblock(accountId)).status).to.equal(200);
      const third = await f.browserLogin();
      const scanned = await channel.request('login.scan', { code: third.code });
      await channel.request('login.confirm', {
        login: scanned.login,
        attestation: await f.attestFor(channel, phone, 'login'),
      });
      expect(await session(third.sessionId)).to.equal('loggedin');
      expect((await get(accountId)).body.lastLoginAt).to.be.a('string');
    } finally {
      await f.close();
    }
  });

  after(() => {
    expect(checker.checked()).to.be.greaterThan(100);
  });
});
