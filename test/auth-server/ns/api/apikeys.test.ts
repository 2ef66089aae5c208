// REST v2 API keys of a virtual server: create (secret once, hash stored), list (never secret or hash),
// revoke (at once), the minting rules (no role beyond the creator's, root only from root), scoping,
// X-su as the root key acting for a key, bad input with no change, and answers as documented.
import { expect } from 'chai';
import { maxActiveKeysPerServer } from '../../../../auth-server/ns/apikeys/admin.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { api, checkedApi, managedState, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();
const keysPath = '/api/v2/servers/{server}/apikeys';
const keyPath = '/api/v2/servers/{server}/apikeys/{id}';

interface KeyWire {
  id: string;
  server: string;
  name: string;
  roles: string[];
  createdAt: string;
  createdBy: string | null;
  key?: string;
}

describe('ns REST v2 API keys', () => {
  let h: Harness;
  let call: ReturnType<typeof api>;
  let send: ReturnType<typeof checkedApi>;
  beforeEach(async () => {
    h = await startHarness();
    call = api(h);
    send = checkedApi(h, checker);
  });
  afterEach(() => h.close());

  const createKey = (server: string, body: unknown, key = rootKey, headers?: Record<string, string>) =>
    send('POST', `servers/${server}/apikeys`, keysPath, key, body, headers);
  const listKeys = (server: string, key = rootKey) => send('GET', `servers/${server}/apikeys`, keysPath, key);
  const revokeKey = (server: string, id: string, key = rootKey) =>
    send('DELETE', `servers/${server}/apikeys/${id}`, keyPath, key);

  it('creates a key: the secret once, only its hash stored, and it works at once for its roles', async () => {
    const { status, body } = await createKey('acme', { name: 'shop backend', roles: ['sessions'] });
    expect(status).to.equal(201);
    const created = body as unknown as KeyWire;
    expect(created).to.deep.include({
      server: 'acme',
      name: 'shop backend',
      roles: ['sessions'],
      createdBy: 'root',
    });
    expect(created.key).to.match(/^nak_[A-Za-z0-9_-]{43}$/);
    const row = await h.knex('ns_api_keys').where({ id: created.id }).first();
    expect(row.key_hash).to.equal(sha256Hex(created.key ?? ''));
    expect(JSON.stringify(row)).to.not.contain(created.key);
    expect((await call('POST', 'session', created.key, { server: 'acme' })).status).to.equal(201);
    expect((await call('POST', 'session', created.key, { server: 'other' })).status).to.equal(404);
    expect((await call('POST', 'enrol-links', created.key, { server: 'acme', userid: 'a' })).status).to.equal(
      403,
    );
  });

  it('lists active keys without secrets or hashes; revoking stops a key at once', async () => {
    const a = (await createKey('acme', { name: 'a', roles: ['sessions'] })).body as unknown as KeyWire;
    h.clock.advance(1000);
    const b = (await createKey('acme', { name: 'b', roles: ['users', 'accounts'] }))
      .body as unknown as KeyWire;
    await createKey('other', { name: 'elsewhere', roles: ['sessions'] });
    const listed = await listKeys('acme');
    expect(listed.status).to.equal(200);
    const keys = listed.body.apiKeys as KeyWire[];
    expect(keys.map((k) => k.name)).to.deep.equal(['a', 'b']);
    const text = JSON.stringify(listed.body);
    for (const k of [a, b]) {
      expect(text).to.not.contain(k.key);
      expect(text).to.not.contain(sha256Hex(k.key ?? ''));
    }
    expect(keys.every((k) => !('key' in k) && !('keyHash' in k))).to.equal(true);
    expect((await revokeKey('acme', a.id)).status).to.equal(204);
    expect((await call('POST', 'session', a.key, { server: 'acme' })).status).to.equal(401);
    expect(((await listKeys('acme')).body.apiKeys as KeyWire[]).map((k) => k.name)).to.deep.equal(['b']);
    expect((await revokeKey('acme', a.id)).status).to.equal(404);
    // A key is revoked under its own server's path only.
    expect((await revokeKey('other', b.id)).status).to.equal(404);
    expect((await call('POST', 'enrol-links', b.key, { server: 'acme', userid: 'a' })).status).to.equal(201);
  });

  it('records apikey.created and apikey.revoked with name and roles, never the secret', async () => {
    const created = (await createKey('acme', { name: 'a', roles: ['sessions'] })).body as unknown as KeyWire;
    // Events of the same millisecond have no order; the fixed clock must move.
    h.clock.advance(1);
    await revokeKey('acme', created.id);
    const { events } = await h.audit.query({ types: ['apikey.created', 'apikey.revoked'], order: 'asc' });
    expect(events.map((e) => e.type)).to.deep.equal(['apikey.created', 'apikey.revoked']);
    for (const e of events) {
      expect(e).to.deep.include({
        actor: { kind: 'apikey', id: 'root' },
        subject: { kind: 'apikey', id: created.id },
      });
      expect(e.details).to.deep.equal({ name: 'a', roles: ['sessions'] });
      expect(JSON.stringify(e)).to.not.contain(created.key);
    }
  });

  describe('minting rules', () => {
    it('a servers key mints keys with roles it holds, on its own server only', async () => {
      const admin = await storedKey(h, 'acme', ['servers', 'sessions']);
      const minted = await createKey('acme', { name: 'm', roles: ['sessions'] }, admin.secret);
      expect(minted.status).to.equal(201);
      expect(minted.body.createdBy).to.equal(admin.id);
      expect((await createKey('acme', { name: 'm', roles: ['servers'] }, admin.secret)).status).to.equal(201);
      const before = await managedState(h);
      for (const roles of [['users'], ['sessions', 'audit'], ['root']]) {
        const res = await createKey('acme', { name: 'x', roles }, admin.secret);
        expect(res.status, roles.join()).to.equal(403);
        expect(res.body.reason).to.equal('role_escalation');
      }
      expect((await createKey('other', { name: 'x', roles: ['sessions'] }, admin.secret)).status).to.equal(
        404,
      );
      expect((await listKeys('other', admin.secret)).status).to.equal(404);
      expect(await managedState(h)).to.deep.equal(before);
    });

    it('a key with root on its server may mint root there; the root key anywhere', async () => {
      const serverRoot = await storedKey(h, 'acme', ['root']);
      expect((await createKey('acme', { name: 'r', roles: ['root'] }, serverRoot.secret)).status).to.equal(
        201,
      );
      expect((await createKey('other', { name: 'r', roles: ['root'] }, serverRoot.secret)).status).to.equal(
        404,
      );
      expect((await createKey('other', { name: 'r', roles: ['root'] })).status).to.equal(201);
    });

    it('a weaker key cannot revoke a stronger one, but can revoke its peers and itself', async () => {
      const admin = await storedKey(h, 'acme', ['servers']);
      const strong = await storedKey(h, 'acme', ['servers', 'users']);
      const peer = await storedKey(h, 'acme', ['servers']);
      const refused = await revokeKey('acme', strong.id, admin.secret);
      expect(refused.status).to.equal(403);
      expect(refused.body.reason).to.equal('role_escalation');
      expect((await call('GET', 'servers/acme/apikeys', strong.secret)).status).to.equal(200);
      expect((await revokeKey('acme', peer.id, admin.secret)).status).to.equal(204);
      expect((await revokeKey('acme', admin.id, admin.secret)).status).to.equal(204);
      expect((await call('GET', 'servers/acme/apikeys', admin.secret)).status).to.equal(401);
    });

    it('keys without the servers role get 403 missing_role for every key operation', async () => {
      const key = await storedKey(h, 'acme', ['sessions', 'users', 'accounts', 'audit']);
      const victim = await storedKey(h, 'acme', ['sessions']);
      const before = await managedState(h);
      for (const res of [
        await listKeys('acme', key.secret),
        await createKey('acme', { name: 'x', roles: ['sessions'] }, key.secret),
        await revokeKey('acme', victim.id, key.secret),
      ]) {
        expect(res.status).to.equal(403);
        expect(res.body.reason).to.equal('missing_role');
      }
      expect((await listKeys('acme', 'not-a-key-0123456789')).status).to.equal(401);
      expect(await managedState(h)).to.deep.equal(before);
    });

    it(`caps active keys at ${maxActiveKeysPerServer} per server (409), counting only active ones`, async () => {
      const rows = Array.from({ length: maxActiveKeysPerServer }, (_, i) => ({
        id: `bulk-${i}`,
        server_id: null as string | null,
        name: `bulk ${i}`,
        key_hash: sha256Hex(`bulk-${i}`),
        roles: '["sessions"]',
        created_at: h.clock.now(),
      }));
      const acme = await h.servers.getByName('acme');
      for (const r of rows) r.server_id = acme.id;
      await h.knex('ns_api_keys').insert(rows);
      const before = await managedState(h);
      const refused = await createKey('acme', { name: 'one more', roles: ['sessions'] });
      expect(refused.status).to.equal(409);
      expect(await managedState(h)).to.deep.equal(before);
      expect((await revokeKey('acme', 'bulk-0')).status).to.equal(204);
      expect((await createKey('acme', { name: 'one more', roles: ['sessions'] })).status).to.equal(201);
    });
  });

  describe('X-su', () => {
    it('the root key acting as a servers key is bound by its roles and server, and is recorded as such', async () => {
      const admin = await storedKey(h, 'acme', ['servers', 'sessions']);
      const su = { 'x-su': admin.id };
      const minted = await createKey('acme', { name: 'via su', roles: ['sessions'] }, rootKey, su);
      expect(minted.status).to.equal(201);
      expect(minted.body.createdBy).to.equal(admin.id);
      expect((await createKey('acme', { name: 'x', roles: ['users'] }, rootKey, su)).status).to.equal(403);
      expect((await createKey('other', { name: 'x', roles: ['sessions'] }, rootKey, su)).status).to.equal(
        404,
      );
      const [event] = (await h.audit.query({ types: ['apikey.created'] })).events;
      // The audit log names who really called: the root key, acting as the stored key.
      expect(event?.actor).to.deep.equal({ kind: 'apikey', id: 'root' });
      expect(event?.details.actingAs).to.equal(admin.id);
    });

    it('is refused for a non-root key (403) and for unknown or revoked key ids (401)', async () => {
      const admin = await storedKey(h, 'acme', ['root']);
      const target = await storedKey(h, 'acme', ['sessions']);
      expect(
        (await createKey('acme', { name: 'x', roles: ['sessions'] }, admin.secret, { 'x-su': target.id }))
          .status,
      ).to.equal(403);
      await revokeKey('acme', target.id);
      expect((await listKeys('acme', rootKey)).status).to.equal(200);
      const res = await call('GET', 'servers/acme/apikeys', rootKey, undefined, { 'x-su': target.id });
      expect(res.status).to.equal(401);
    });
  });

  describe('bad input: 400 and nothing changes', () => {
    const bad: [string, unknown][] = [
      ['no roles', { name: 'x', roles: [] }],
      ['an unknown role', { name: 'x', roles: ['admin'] }],
      ['a repeated role', { name: 'x', roles: ['sessions', 'sessions'] }],
      ['roles as a string', { name: 'x', roles: 'sessions' }],
      ['an empty name', { name: ' ', roles: ['sessions'] }],
      ['a 201-character name', { name: 'n'.repeat(201), roles: ['sessions'] }],
      ['a chosen secret', { name: 'x', roles: ['sessions'], key: 'my-own-secret-0123456789' }],
      ['a server member', { name: 'x', roles: ['sessions'], server: 'other' }],
    ];
    for (const [what, body] of bad) {
      it(`refuses ${what}`, async () => {
        const before = await managedState(h);
        const res = await createKey('acme', body);
        expect(res.status).to.equal(400);
        expect(res.body.code).to.equal('invalid_body');
        expect(await managedState(h)).to.deep.equal(before);
      });
    }

    it('refuses unknown servers and malformed ids with 404, oversized bodies with 413', async () => {
      const before = await managedState(h);
      expect((await createKey('nope', { name: 'x', roles: ['sessions'] })).status).to.equal(404);
      expect((await revokeKey('acme', 'no-such-key')).status).to.equal(404);
      expect((await revokeKey('acme', 'x'.repeat(33))).status).to.equal(404);
      expect((await createKey('acme', { name: 'x'.repeat(70_000), roles: ['sessions'] })).status).to.equal(
        413,
      );
      expect(await managedState(h)).to.deep.equal(before);
    });
  });

  after(() => {
    expect(checker.checked()).to.be.greaterThan(40);
  });
});
