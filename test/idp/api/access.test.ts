// Who may use `/idp/api/v1`: the role matrix for every operation (no key, unknown key, another server's
// key, a key without the role, the server's `servers` and `root` keys, the root key), in NS REST's order
// (401, then 403 for a missing role whatever the server, then 404 for a server the key may not see), and
// nothing changes on a refusal.
import { expect } from 'chai';
import { type ApiFixture, problem, startApiFixture } from './fixture.js';

describe('idp/api: API keys and roles', function () {
  this.timeout(60_000);
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f?.close());

  /** Each operation on `server`; `n` makes created ids unique per call. */
  const operations = (server: string, n: number) => [
    { method: 'GET', path: `/servers/${server}/oidc/clients`, ok: 200 },
    {
      method: 'POST',
      path: `/servers/${server}/oidc/clients`,
      body: { clientId: `c${n}`, redirectUris: ['https://a.example/cb'] },
      ok: 201,
    },
    { method: 'GET', path: `/servers/${server}/oidc/clients/c${n}`, ok: 200 },
    { method: 'PATCH', path: `/servers/${server}/oidc/clients/c${n}`, body: { name: 'renamed' }, ok: 200 },
    { method: 'DELETE', path: `/servers/${server}/oidc/clients/c${n}`, ok: 204 },
    { method: 'GET', path: `/servers/${server}/oidc/keys`, ok: 200 },
    { method: 'POST', path: `/servers/${server}/oidc/keys/rotate`, ok: 200 },
  ];

  const state = async () =>
    JSON.stringify([
      await f.clientRows(),
      await f.e.runtime.dbs.idp?.('idp_oidc_signing_keys').orderBy('kid').select('kid', 'slot'),
    ]);

  it('refuses a missing or unknown key (401), a key without the role (403), another tenant (404)', async () => {
    const before = await state();
    let n = 0;
    for (const op of operations('default', 0)) {
      const what = `${op.method} ${op.path}`;
      const noKey = await problem(await f.call(op.method, op.path, undefined, op.body), 401);
      expect(noKey.code, what).to.equal('unauthorized');
      await problem(await f.call(op.method, op.path, 'nak_not-a-key', op.body), 401);
      await problem(await f.call(op.method, op.path, 'x'.repeat(600), op.body), 401);
      const users = await problem(await f.call(op.method, op.path, f.keys.users, op.body), 403);
      expect(users.reason, what).to.equal('missing_role');
      // The acme key may not see `default`: it reads as unknown, like a server that does not exist.
      const other = await problem(await f.call(op.method, op.path, f.keys.acme, op.body), 404);
      expect(other.detail, what).to.equal('No such virtual server');
      n++;
    }
    for (const op of operations('nowhere', 0)) {
      expect((await problem(await f.call(op.method, op.path, f.keys.root, op.body), 404)).detail).to.equal(
        'No such virtual server',
      );
      // A key without the role learns nothing about which servers exist.
      expect((await problem(await f.call(op.method, op.path, f.keys.users, op.body), 403)).reason).to.equal(
        'missing_role',
      );
    }
    for (const op of operations('NOT_A_NAME', 0))
      await problem(await f.call(op.method, op.path, f.keys.root, op.body), 404);
    expect(n).to.equal(7);
    expect(await state()).to.equal(before);
    expect(await f.audit('oidc_client.*,oidc_keys.*')).to.deep.equal([]);
  });

  it("the root key, the server's `servers` key and its tenant `root` key may do everything", async () => {
    let n = 1;
    for (const [server, key] of [
      ['default', f.keys.root],
      ['acme', f.keys.root],
      ['default', f.keys.servers],
      ['default', f.keys.tenantRoot],
      ['acme', f.keys.acme],
    ] as const) {
      for (const op of operations(server, n)) {
        const res = await f.call(op.method, op.path, key, op.body);
        expect(res.status, `${op.method} ${op.path}: ${await res.clone().text()}`).to.equal(op.ok);
      }
      n++;
    }
    const events = await f.audit('oidc_client.*,oidc_keys.*');
    // Create, update, delete and rotate for each of the five.
    expect(events).to.have.length(20);
    expect(
      new Set(events.filter((e) => e.type === 'oidc_keys.rotated').map((e) => e.actor.id)).size,
    ).to.equal(4);
  });

  it('an unknown client id or a malformed one is 404 for a key that may act on the server', async () => {
    for (const id of ['nobody', 'bad%20id', 'x'.repeat(256)])
      await problem(await f.call('GET', `/servers/default/oidc/clients/${id}`, f.keys.servers), 404);
  });
});
