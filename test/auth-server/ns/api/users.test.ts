// REST v2 users over a real listener: PUT/PATCH/GET/DELETE and the list with filters, search, sort and
// paging; the `users` role on its own server only; bad and oversized input refused with 4xx and no change;
// every answer as the OpenAPI document says.
import { expect } from 'chai';
import { checkedApi, managedState, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();
const userPath = '/api/v2/servers/{server}/users/{userid}';
const listPath = '/api/v2/servers/{server}/users';

interface UserWire {
  userid: string;
  name: string | null;
  email: string | null;
  attributes: Record<string, string>;
  groups: string[];
}

describe('ns REST v2 users', () => {
  let h: Harness;
  let send: ReturnType<typeof checkedApi>;
  beforeEach(async () => {
    h = await startHarness();
    send = checkedApi(h, checker);
  });
  afterEach(() => h.close());

  const u = (userid: string, server = 'acme') => `servers/${server}/users/${encodeURIComponent(userid)}`;
  const put = (userid: string, body: unknown, key = rootKey, server = 'acme') =>
    send('PUT', u(userid, server), userPath, key, body);
  const patch = (userid: string, body: unknown, key = rootKey) =>
    send('PATCH', u(userid), userPath, key, body);
  const get = (userid: string, key = rootKey, server = 'acme') =>
    send('GET', u(userid, server), userPath, key);
  const del = (userid: string, key = rootKey) => send('DELETE', u(userid), userPath, key);
  const list = (query: string, key = rootKey, server = 'acme') =>
    send('GET', `servers/${server}/users${query}`, listPath, key);
  const state = async () => ({
    managed: await managedState(h),
    users: await h.knex('ns_users').select('*').orderBy('id'),
    attrs: await h.knex('ns_user_attributes').select('*').orderBy(['user_id', 'name']),
    groups: await h.knex('ns_user_groups').select('*').orderBy(['user_id', 'group_name']),
  });

  it('PUT creates (201) and replaces (200); PATCH merges; GET reads; DELETE removes', async () => {
    const created = await put('alice', {
      name: 'Alice',
      email: 'alice@example.com',
      attributes: { dept: 'sales' },
      groups: ['staff'],
    });
    expect(created.status).to.equal(201);
    expect(created.body).to.deep.include({
      userid: 'alice',
      server: 'acme',
      name: 'Alice',
      groups: ['staff'],
    });
    const merged = await patch('alice', { attributes: { level: '3', dept: null }, groups: ['staff', 'eu'] });
    expect(merged.status).to.equal(200);
    expect(merged.body.attributes).to.deep.equal({ level: '3' });
    expect((await get('alice')).body).to.deep.include({ email: 'alice@example.com' });
    const replaced = await put('alice', { name: 'A.' });
    expect(replaced.status).to.equal(200);
    expect(replaced.body).to.deep.include({ name: 'A.', email: null, attributes: {}, groups: [] });
    expect((await patch('bob', { name: 'Bob' })).status).to.equal(201);
    const removed = await del('alice');
    expect(removed.status).to.equal(200);
    expect(removed.body).to.deep.equal({ userid: 'alice', accountsDeleted: 0 });
    expect((await get('alice')).status).to.equal(404);
    expect((await del('alice')).status).to.equal(404);
    const { events } = await h.audit.query({ subject: { kind: 'user', id: 'alice' } });
    expect(events.map((e) => e.type)).to.include.members(['user.updated', 'user.deleted']);
  });

  it('takes any userid in the path, URL-encoded (slashes, spaces, non-ASCII)', async () => {
    for (const userid of ['a/b', 'with space', 'ümit@example.com', '用户', '%41']) {
      expect((await put(userid, { name: 'x' })).status, userid).to.equal(201);
      expect((await get(userid)).body.userid).to.equal(userid);
    }
  });

  it('lists with attr.*, group, q, sort and keyset paging', async () => {
    for (let i = 0; i < 25; i++) {
      h.clock.advance(1000);
      await put(`user-${String(i).padStart(2, '0')}`, {
        name: i % 2 ? 'Odd' : 'Even',
        attributes: { parity: i % 2 ? 'odd' : 'even', tens: String(Math.floor(i / 10)) },
        groups: i % 5 === 0 ? ['fives'] : [],
      });
    }
    const page1 = await list('?limit=10');
    expect((page1.body.users as UserWire[]).map((x) => x.userid)[0]).to.equal('user-00');
    const seen: string[] = [];
    let marker: string | null = null;
    do {
      const page = await list(`?limit=10${marker ? `&marker=${marker}` : ''}`);
      seen.push(...(page.body.users as UserWire[]).map((x) => x.userid));
      marker = page.body.next_marker as string | null;
    } while (marker);
    expect(seen).to.have.length(25);
    expect(seen).to.deep.equal([...seen].sort());
    const ids = async (q: string) => ((await list(q)).body.users as UserWire[]).map((x) => x.userid);
    expect(await ids('?attr.parity=odd&attr.tens=2')).to.deep.equal(['user-21', 'user-23']);
    expect(await ids('?attr.name=Even&attr.tens=2')).to.deep.equal(['user-20', 'user-22', 'user-24']);
    expect(await ids('?group=fives')).to.deep.equal(['user-00', 'user-05', 'user-10', 'user-15', 'user-20']);
    expect(await ids('?group=in:fives,none&attr.parity=odd')).to.deep.equal(['user-05', 'user-15']);
    expect(await ids('?q=USER-1&sort=-userid&limit=3')).to.deep.equal(['user-19', 'user-18', 'user-17']);
    expect(await ids('?sort=-createdAt&limit=2')).to.deep.equal(['user-24', 'user-23']);
  });

  it('pages over REST through 10,000 users, each exactly once, with a filter that spans pages', async function () {
    this.timeout(120_000);
    const server = await h.servers.getByName('acme');
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: `bulk${String(i).padStart(8, '0')}`,
      server_id: server.id,
      userid: `bulk-${String((i * 7919) % 10_000).padStart(5, '0')}`,
      name: null,
      email: null,
      // 50 users share each creation time: keyset paging must break the ties.
      created_at: h.clock.now() + Math.floor(i / 50),
      updated_at: h.clock.now(),
    }));
    for (let i = 0; i < rows.length; i += 500) await h.knex('ns_users').insert(rows.slice(i, i + 500));
    const groups = rows
      .filter((_, i) => i % 7 === 0)
      .map((r) => ({ user_id: r.id, server_id: server.id, group_name: 'sevens' }));
    for (let i = 0; i < groups.length; i += 500)
      await h.knex('ns_user_groups').insert(groups.slice(i, i + 500));

    const pageThrough = async (query: string) => {
      const seen: string[] = [];
      let marker: string | null = null;
      let pages = 0;
      do {
        const page = await list(`?${query}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`);
        expect(page.status).to.equal(200);
        seen.push(...(page.body.users as UserWire[]).map((x) => x.userid));
        marker = page.body.next_marker as string | null;
        pages++;
      } while (marker);
      return { seen, pages };
    };
    for (const sort of ['userid', '-createdAt']) {
      const { seen, pages } = await pageThrough(`limit=1000&sort=${sort}`);
      expect(seen, sort).to.have.length(10_000);
      expect(new Set(seen).size, sort).to.equal(10_000);
      expect(pages, sort).to.be.within(10, 11);
    }
    const { seen: sevens } = await pageThrough('limit=300&group=sevens&sort=userid');
    expect(sevens).to.have.length(groups.length);
    expect(sevens).to.deep.equal([...sevens].sort());
  });

  describe('roles', () => {
    it('a users key works on its own server only; other keys get 403 missing_role', async () => {
      const users = await storedKey(h, 'acme', ['users']);
      expect((await put('carol', { name: 'C' }, users.secret)).status).to.equal(201);
      expect((await list('', users.secret)).status).to.equal(200);
      const before = await state();
      expect((await put('carol', { name: 'x' }, users.secret, 'other')).status).to.equal(404);
      expect((await get('carol', users.secret, 'other')).status).to.equal(404);
      expect((await list('', users.secret, 'other')).status).to.equal(404);
      for (const roles of [['sessions'], ['accounts', 'servers', 'audit']] as const) {
        const key = await storedKey(h, 'acme', [...roles]);
        const after = await state();
        for (const res of [
          await put('carol', { name: 'x' }, key.secret),
          await patch('carol', { name: 'x' }, key.secret),
          await get('carol', key.secret),
          await del('carol', key.secret),
          await list('', key.secret),
        ]) {
          expect(res.status).to.equal(403);
          expect(res.body.reason).to.equal('missing_role');
        }
        expect((await state()).users).to.deep.equal(after.users);
      }
      expect((await state()).users).to.deep.equal(before.users);
      expect((await list('', 'wrong-key-0123456789')).status).to.equal(401);
    });
  });

  describe('bad input: 4xx and nothing changes', () => {
    const bad: [string, unknown][] = [
      ['an unknown member', { name: 'x', role: 'admin' }],
      ['a reserved attribute name', { attributes: { email: 'x@example.com' } }],
      ['an attribute name with a space', { attributes: { 'my attr': 'x' } }],
      ['an attribute value over 512 characters', { attributes: { a: 'x'.repeat(513) } }],
      [
        '51 attributes',
        { attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, 'x'])) },
      ],
      ['a number as attribute value', { attributes: { a: 1 } }],
      ['a group with a comma', { groups: ['a,b'] }],
      ['a repeated group', { groups: ['a', 'a'] }],
      ['101 groups', { groups: Array.from({ length: 101 }, (_, i) => `g${i}`) }],
      ['a bad email', { email: 'not-an-email' }],
      ['an empty name', { name: ' ' }],
    ];
    for (const [what, body] of bad) {
      it(`PUT and PATCH refuse ${what} (400)`, async () => {
        await put('alice', { name: 'Alice' });
        const before = await state();
        const replaced = await put('alice', body);
        expect(replaced.status).to.equal(400);
        expect(replaced.body.code).to.equal('invalid_body');
        expect((await patch('alice', body)).status).to.equal(400);
        expect((await patch('new-user', body)).status).to.equal(400);
        expect(await state()).to.deep.equal(before);
      });
    }

    it('refuses bad queries (400), long userids and unknown servers (404), big bodies (413)', async () => {
      await put('alice', { name: 'Alice' });
      const before = await state();
      for (const q of [
        '?limit=0',
        '?limit=1001',
        '?sort=name',
        '?marker=%%%',
        '?group=in:a,,b',
        '?foo=1',
        '?attr.sub=x',
        '?limit=1&limit=2',
      ]) {
        const res = await list(q);
        expect(res.status, q).to.equal(400);
        expect(res.body.code).to.equal('bad_request');
      }
      const marker = (await list('?limit=1')).body.next_marker;
      expect(marker).to.equal(null);
      await put('bob', {});
      const page = await list('?limit=1');
      expect((await list(`?sort=-userid&marker=${page.body.next_marker}`)).status).to.equal(400);
      expect((await put('x'.repeat(256), { name: 'x' })).status).to.equal(404);
      expect((await put('alice', { name: 'x' }, rootKey, 'nope')).status).to.equal(404);
      const huge = await put('alice', { name: 'x', attributes: { a: 'y'.repeat(70_000) } });
      expect(huge.status).to.equal(413);
      const after = await state();
      expect(after.users.filter((r: { userid: string }) => r.userid !== 'bob')).to.deep.equal(before.users);
    });
  });

  after(() => {
    expect(checker.checked()).to.be.greaterThan(100);
  });
});
