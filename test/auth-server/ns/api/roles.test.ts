// Roles on the existing REST v2 routes: sessions for getSession/logout/QR, users or accounts for enrol links,
// 403 (reason missing_role) otherwise, with nothing stored; X-su only for the root key.
import { expect } from 'chai';
import type { ApiRole } from '../../../../auth-server/ns/apikeys/model.js';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { type Harness, rootKey, startHarness } from './harness.js';

describe('ns REST v2 roles', () => {
  let h: Harness;
  let n = 0;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** A stored key of `acme` with these roles; returns the secret. */
  async function keyWith(roles: ApiRole[], server = 'acme'): Promise<{ id: string; secret: string }> {
    n++;
    const id = `role-key-${n}`;
    const secret = `role-test-key-${n}-0123456789abcdef`;
    await createApiKeyRepository(h.knex).save({
      id,
      serverId: (await h.servers.getByName(server)).id,
      name: `key ${n}`,
      keyHash: sha256Hex(secret),
      roles,
      createdAt: new Date(h.clock.now()),
    });
    return { id, secret };
  }

  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${h.url}/ns/api/v2/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const get = (path: string, headers: Record<string, string>) =>
    fetch(`${h.url}/ns/api/v2/${path}`, { headers });
  const count = async (table: string) => Number((await h.knex(table).count({ n: '*' }))[0]?.n);

  async function forbidden(res: Response) {
    expect(res.status).to.equal(403);
    expect(res.headers.get('content-type')).to.contain('application/problem+json');
    const body = (await res.json()) as { code: string; reason: string };
    expect(body).to.include({ code: 'forbidden', reason: 'missing_role' });
  }

  it('session routes need the sessions role', async () => {
    const allowed = await keyWith(['sessions']);
    const other = await keyWith(['users', 'accounts', 'servers', 'audit']);
    const created = await post('session', { server: 'acme' }, { 'x-apikey': allowed.secret });
    expect(created.status).to.equal(201);
    const { nonce } = (await created.json()) as { nonce: string };
    const before = await count('ns_sessions');
    await forbidden(await post('session', { server: 'acme' }, { 'x-apikey': other.secret }));
    expect(await count('ns_sessions')).to.equal(before);
    for (const path of ['session', 'qr']) {
      expect((await get(path, { 'x-apikey': allowed.secret, 'x-nonce': nonce })).status).to.equal(200);
      await forbidden(await get(path, { 'x-apikey': other.secret, 'x-nonce': nonce }));
    }
    await forbidden(await post('logout', {}, { 'x-apikey': other.secret, 'x-nonce': nonce }));
    const status = await get('session', { 'x-apikey': allowed.secret, 'x-nonce': nonce });
    expect(((await status.json()) as { state: string }).state).to.equal('waiting');
    expect((await post('logout', {}, { 'x-apikey': allowed.secret, 'x-nonce': nonce })).status).to.equal(200);
  });

  it('a key without the role gets 403 even for a server it cannot see (no tenant probing)', async () => {
    const other = await keyWith(['users']);
    await forbidden(await post('session', { server: 'other' }, { 'x-apikey': other.secret }));
    await forbidden(await post('session', { server: 'nope' }, { 'x-apikey': other.secret }));
  });

  it('enrol links need users or accounts', async () => {
    const users = await keyWith(['users']);
    const accounts = await keyWith(['accounts']);
    const sessions = await keyWith(['sessions', 'servers', 'audit']);
    const body = { server: 'acme', userid: 'alice' };
    expect((await post('enrol-links', body, { 'x-apikey': users.secret })).status).to.equal(201);
    expect((await post('enrol-links', body, { 'x-apikey': accounts.secret })).status).to.equal(201);
    const before = await count('ns_enrol_tokens');
    await forbidden(await post('enrol-links', body, { 'x-apikey': sessions.secret }));
    expect(await count('ns_enrol_tokens')).to.equal(before);
  });

  it('a server key with root holds every role on its own server', async () => {
    const serverRoot = await keyWith(['root']);
    expect((await post('session', { server: 'acme' }, { 'x-apikey': serverRoot.secret })).status).to.equal(
      201,
    );
    const body = { server: 'acme', userid: 'bob' };
    expect((await post('enrol-links', body, { 'x-apikey': serverRoot.secret })).status).to.equal(201);
    const elsewhere = { server: 'other', userid: 'bob' };
    expect((await post('enrol-links', elsewhere, { 'x-apikey': serverRoot.secret })).status).to.equal(404);
  });

  describe('X-su', () => {
    it('lets the root key act as a stored key: that key’s server and roles apply', async () => {
      const target = await keyWith(['sessions']);
      const asKey = { 'x-apikey': rootKey, 'x-su': target.id };
      expect((await post('session', { server: 'acme' }, asKey)).status).to.equal(201);
      // The stored key's scope applies: another server reads as unknown, another role is missing.
      expect((await post('session', { server: 'other' }, asKey)).status).to.equal(404);
      await forbidden(await post('enrol-links', { server: 'acme', userid: 'carol' }, asKey));
    });

    it('is refused for any other key (403) and for an unknown or malformed key id (401)', async () => {
      const serverRoot = await keyWith(['root']);
      const target = await keyWith(['sessions']);
      const refused = await post(
        'session',
        { server: 'acme' },
        { 'x-apikey': serverRoot.secret, 'x-su': target.id },
      );
      expect(refused.status).to.equal(403);
      for (const su of ['no-such-key', 'bad id!', 'x'.repeat(40)]) {
        const res = await post('session', { server: 'acme' }, { 'x-apikey': rootKey, 'x-su': su });
        expect(res.status).to.equal(401);
      }
    });
  });
});
