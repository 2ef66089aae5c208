// REST v2 virtual servers over a real listener: CRUD by the root key, what a `servers` key of one server
// may do (its own server only, never create or delete), SFS propagation of the PIN policy in the same
// step, every bad or oversized input refused with 4xx and no change, and answers as documented.
import { expect } from 'chai';
import type { SfsPeer } from '../../../../auth-server/common/peers.js';
import { publicKeyFromJwk, thumbprint } from '../../../../protocol/index.js';
import { api, checkedApi, managedState, publisherJwk, storedKey, tinyPng } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();
const fullPolicy = {
  pinAttempts: 5,
  lockoutSeconds: 300,
  maxLockoutSeconds: 86_400,
  blockAfterLockouts: 5,
  loginTimeoutSeconds: 120,
  transactionTimeoutSeconds: 300,
  transactionPinAlways: false,
  transactionsPerMinute: 10,
  maxOpenTransactions: 5,
  pushesPerMinute: 5,
  maxOpenPushes: 3,
  clientPushesPerMinute: 3,
  notMe: 'block_push',
  notMeBlockSeconds: 3600,
};

interface ServerWire {
  name: string;
  displayName: string;
  logo: string | null;
  policy: typeof fullPolicy;
  allowedApps: { name: string; publisherKey: Record<string, string>; fingerprint: string }[];
  globalId: string;
}

describe('ns REST v2 virtual servers', () => {
  let h: Harness;
  let call: ReturnType<typeof api>;
  let send: ReturnType<typeof checkedApi>;
  beforeEach(async () => {
    h = await startHarness();
    call = api(h);
    send = checkedApi(h, checker);
  });
  afterEach(() => h.close());

  const create = (body: unknown, key = rootKey) => send('POST', 'servers', '/api/v2/servers', key, body);
  const patch = (name: string, body: unknown, key = rootKey) =>
    send('PATCH', `servers/${name}`, '/api/v2/servers/{server}', key, body);
  const get = (name: string, key = rootKey) =>
    send('GET', `servers/${name}`, '/api/v2/servers/{server}', key);
  const del = (name: string, key = rootKey) =>
    send('DELETE', `servers/${name}`, '/api/v2/servers/{server}', key);
  const list = (key = rootKey) => send('GET', 'servers', '/api/v2/servers', key);

  async function audit(type: string) {
    const page = await h.audit.query({ types: [type as 'server.created'] });
    return page.events;
  }

  describe('as the root key', () => {
    it('creates a server with defaults, registers its PIN policy at the SFS and records server.created', async () => {
      const { status, body } = await create({ name: 'bank', displayName: 'Bank' });
      expect(status).to.equal(201);
      expect(body).to.deep.include({ name: 'bank', displayName: 'Bank', logo: null, allowedApps: [] });
      expect(body.policy).to.deep.equal(fullPolicy);
      expect(body.globalId).to.equal('http://127.0.0.1:3000/ns/bank');
      expect(h.sfsRegistrations).to.deep.equal([
        {
          id: 'http://127.0.0.1:3000/ns/bank',
          policy: { maxAttempts: 5, lockoutSeconds: 300, maxLockoutSeconds: 86_400, blockAfterLockouts: 5 },
        },
      ]);
      const [event] = await audit('server.created');
      expect(event).to.deep.include({
        actor: { kind: 'apikey', id: 'root' },
        subject: { kind: 'server', id: 'bank' },
      });
      expect(event?.server?.name).to.equal('bank');
    });

    it('lists, gets, updates and deletes', async () => {
      const listed = await list();
      expect(listed.status).to.equal(200);
      expect((listed.body.servers as ServerWire[]).map((s) => s.name)).to.deep.equal(['acme', 'other']);
      expect((await get('acme')).body).to.deep.include({ name: 'acme', displayName: 'ACME' });
      const updated = await patch('acme', { displayName: 'ACME Inc.', policy: { pinAttempts: 3 } });
      expect(updated.status).to.equal(200);
      expect(updated.body.displayName).to.equal('ACME Inc.');
      expect(updated.body.policy).to.deep.equal({ ...fullPolicy, pinAttempts: 3 });
      expect((await get('acme')).body).to.deep.include({ displayName: 'ACME Inc.' });
      const [event] = await audit('server.updated');
      expect(event?.details.changed).to.deep.equal(['displayName', 'policy.pinAttempts']);
      expect((await del('other')).status).to.equal(204);
      expect((await get('other')).status).to.equal(404);
      expect(await audit('server.deleted')).to.have.length(1);
    });

    it('sends a policy change to the SFS, and only a change the SFS enforces', async () => {
      // The PIN timeouts (login and transaction confirmation) are NS's own: no SFS call.
      const timeouts = await patch('acme', {
        displayName: 'Renamed',
        policy: { loginTimeoutSeconds: 60, transactionTimeoutSeconds: 900 },
      });
      expect(timeouts.body.policy).to.deep.include({
        loginTimeoutSeconds: 60,
        transactionTimeoutSeconds: 900,
      });
      expect(h.sfsRegistrations).to.deep.equal([]);
      await patch('acme', { policy: { lockoutSeconds: 60, maxLockoutSeconds: 600, blockAfterLockouts: 0 } });
      expect(h.sfsRegistrations).to.deep.equal([
        {
          id: 'http://127.0.0.1:3000/ns/acme',
          policy: { maxAttempts: 5, lockoutSeconds: 60, maxLockoutSeconds: 600, blockAfterLockouts: 0 },
        },
      ]);
    });

    it('keeps logos: https URLs and small raster data: URLs; null removes', async () => {
      const url = 'https://cdn.example/logo.png';
      expect((await patch('acme', { logo: url })).body.logo).to.equal(url);
      const data = `data:image/png;base64,${tinyPng.toString('base64')}`;
      expect((await patch('acme', { logo: data })).body.logo).to.equal(data);
      expect((await patch('acme', { logo: null })).body.logo).to.equal(null);
    });

    it('keeps allowed apps as public JWKs with their RFC 7638 fingerprints', async () => {
      const jwk = { ...publisherJwk(), kid: 'publisher-2026', alg: 'ES256', use: 'sig' };
      const { status, body } = await patch('acme', {
        allowedApps: [{ name: 'Demo app', publisherKey: jwk }],
      });
      expect(status).to.equal(200);
      const [app] = body.allowedApps as ServerWire['allowedApps'];
      const { kty, crv, x, y } = jwk;
      expect(app?.publisherKey).to.deep.equal({ kty, crv, x, y });
      expect(app?.fingerprint).to.equal(await thumbprint(publicKeyFromJwk({ kty, crv, x, y })));
      expect((await patch('acme', { allowedApps: [] })).body.allowedApps).to.deep.equal([]);
    });

    it('deleting a server deletes its API keys too', async () => {
      const key = await storedKey(h, 'other', ['sessions']);
      expect((await call('POST', 'session', key.secret, { server: 'other' })).status).to.equal(201);
      await del('other');
      expect((await call('POST', 'session', key.secret, { server: 'other' })).status).to.equal(401);
      expect(await h.knex('ns_sessions')).to.deep.equal([]);
    });
  });

  describe('roles', () => {
    it('a servers key sees and changes only its own server', async () => {
      const key = await storedKey(h, 'acme', ['servers']);
      const listed = await list(key.secret);
      expect((listed.body.servers as ServerWire[]).map((s) => s.name)).to.deep.equal(['acme']);
      expect((await get('acme', key.secret)).status).to.equal(200);
      expect((await patch('acme', { displayName: 'Mine' }, key.secret)).status).to.equal(200);
      const before = await managedState(h);
      expect((await get('other', key.secret)).status).to.equal(404);
      expect((await patch('other', { displayName: 'Theirs' }, key.secret)).status).to.equal(404);
      expect(await managedState(h)).to.deep.equal(before);
    });

    it('only the root key creates and deletes servers (a servers or server-root key gets 403 root_only)', async () => {
      for (const roles of [['servers'], ['root']] as const) {
        const key = await storedKey(h, 'acme', [...roles]);
        const before = await managedState(h);
        const created = await create({ name: 'new', displayName: 'New' }, key.secret);
        expect(created.status).to.equal(403);
        expect(created.body.reason).to.equal('root_only');
        const deleted = await del('acme', key.secret);
        expect(deleted.status).to.equal(403);
        expect(deleted.body.reason).to.equal('root_only');
        expect(await managedState(h)).to.deep.equal(before);
      }
    });

    it('keys without the servers role get 403 missing_role everywhere; no key gets 401', async () => {
      const key = await storedKey(h, 'acme', ['sessions', 'users', 'accounts', 'audit']);
      const before = await managedState(h);
      for (const res of [
        await list(key.secret),
        await get('acme', key.secret),
        await get('other', key.secret),
        await patch('acme', { displayName: 'x' }, key.secret),
        await create({ name: 'new', displayName: 'New' }, key.secret),
        await del('acme', key.secret),
      ]) {
        expect(res.status).to.equal(403);
        expect(res.body.reason).to.equal('missing_role');
      }
      for (const res of [
        await send('GET', 'servers', '/api/v2/servers', undefined),
        await get('acme', 'wrong-key-0123456789'),
      ]) {
        expect(res.status).to.equal(401);
      }
      expect(await managedState(h)).to.deep.equal(before);
    });
  });

  describe('bad input: 4xx and nothing changes', () => {
    const jwk = publisherJwk();
    const bigPng = Buffer.concat([tinyPng, Buffer.alloc(25 * 1024)]);
    const badCreates: [string, unknown][] = [
      ['an uppercase name', { name: 'Bank', displayName: 'B' }],
      ['a name with a slash', { name: 'a/b', displayName: 'B' }],
      ['a 64-character name', { name: 'a'.repeat(64), displayName: 'B' }],
      ['an empty display name', { name: 'bank', displayName: '  ' }],
      ['an unknown member', { name: 'bank', displayName: 'B', admin: true }],
      ['an unknown policy key', { name: 'bank', displayName: 'B', policy: { pinAttempt: 3 } }],
      ['zero PIN attempts', { name: 'bank', displayName: 'B', policy: { pinAttempts: 0 } }],
      ['a zero lockout', { name: 'bank', displayName: 'B', policy: { lockoutSeconds: 0 } }],
      [
        'a ceiling below the lockout',
        { name: 'bank', displayName: 'B', policy: { lockoutSeconds: 600, maxLockoutSeconds: 60 } },
      ],
      ['a string timeout', { name: 'bank', displayName: 'B', policy: { loginTimeoutSeconds: '60' } }],
      ['a login timeout under 10 s', { name: 'bank', displayName: 'B', policy: { loginTimeoutSeconds: 9 } }],
      [
        'a transaction timeout over an hour',
        { name: 'bank', displayName: 'B', policy: { transactionTimeoutSeconds: 3601 } },
      ],
      ['an http logo', { name: 'bank', displayName: 'B', logo: 'http://cdn.example/logo.png' }],
      [
        'a logo URL with credentials',
        { name: 'bank', displayName: 'B', logo: 'https://u:p@cdn.example/l.png' },
      ],
      ['a javascript: logo', { name: 'bank', displayName: 'B', logo: 'javascript:alert(1)' }],
      [
        'an SVG logo',
        {
          name: 'bank',
          displayName: 'B',
          logo: `data:image/svg+xml;base64,${Buffer.from('<svg/>').toString('base64')}`,
        },
      ],
      [
        'a logo that is not the declared type',
        {
          name: 'bank',
          displayName: 'B',
          logo: `data:image/png;base64,${Buffer.from('GIF89a').toString('base64')}`,
        },
      ],
      [
        'a logo over 24 KiB',
        { name: 'bank', displayName: 'B', logo: `data:image/png;base64,${bigPng.toString('base64')}` },
      ],
      [
        'a private publisher key',
        { name: 'bank', displayName: 'B', allowedApps: [{ name: 'A', publisherKey: { ...jwk, d: jwk.x } }] },
      ],
      [
        'a publisher key off the curve',
        { name: 'bank', displayName: 'B', allowedApps: [{ name: 'A', publisherKey: { ...jwk, y: jwk.x } }] },
      ],
      [
        'an RSA publisher key',
        {
          name: 'bank',
          displayName: 'B',
          allowedApps: [{ name: 'A', publisherKey: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }],
        },
      ],
      [
        'the same publisher twice',
        {
          name: 'bank',
          displayName: 'B',
          allowedApps: [
            { name: 'A', publisherKey: jwk },
            { name: 'B', publisherKey: jwk },
          ],
        },
      ],
      [
        '17 allowed apps',
        {
          name: 'bank',
          displayName: 'B',
          allowedApps: Array.from({ length: 17 }, (_, i) => ({
            name: `A${i}`,
            publisherKey: publisherJwk(),
          })),
        },
      ],
      ['an array body', [{ name: 'bank', displayName: 'B' }]],
    ];

    for (const [what, body] of badCreates) {
      it(`POST refuses ${what} (400)`, async () => {
        const before = await managedState(h);
        const res = await create(body);
        expect(res.status, JSON.stringify(res.body)).to.equal(400);
        expect(res.body.code).to.equal('invalid_body');
        expect(res.body.errors).to.be.an('array').that.is.not.empty;
        expect(await managedState(h)).to.deep.equal(before);
      });
    }

    it('POST refuses a taken name (409), a body over 64 KiB (413), non-JSON (415 / 400)', async () => {
      const before = await managedState(h);
      expect((await create({ name: 'acme', displayName: 'Again' })).status).to.equal(409);
      const huge = await create({
        name: 'bank',
        displayName: 'B',
        logo: `https://cdn.example/${'a'.repeat(70_000)}`,
      });
      expect(huge.status).to.equal(413);
      const form = await call('POST', 'servers', rootKey, undefined, { 'content-type': 'text/plain' });
      await checker.check(form, 'POST', '/api/v2/servers');
      expect(form.status).to.equal(415);
      const broken = await call('POST', 'servers', rootKey, '{"name":');
      expect(broken.status).to.equal(400);
      await checker.check(broken, 'POST', '/api/v2/servers');
      expect(await managedState(h)).to.deep.equal(before);
    });

    it('PATCH refuses bad members, renames and unknown servers', async () => {
      const before = await managedState(h);
      for (const body of [
        { name: 'renamed' },
        { policy: { pinAttempts: 101 } },
        { policy: { maxLockoutSeconds: 10 } },
        { displayName: 'x'.repeat(201) },
        { logo: 42 },
        { allowedApps: null },
      ]) {
        const res = await patch('acme', body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
      }
      expect((await patch('nope', { displayName: 'x' })).status).to.equal(404);
      expect((await patch('Not_A_Name', { displayName: 'x' })).status).to.equal(404);
      expect(await managedState(h)).to.deep.equal(before);
    });

    it('DELETE of an unknown server is 404', async () => {
      expect((await del('nope')).status).to.equal(404);
    });
  });

  describe('SFS propagation', () => {
    let failing: Harness;
    const sfs: SfsPeer = {
      issuer: 'http://127.0.0.1:3000/sfs',
      publicKeys: async () => [],
      registerServer: async () => {
        throw new Error('SFS down');
      },
    };
    beforeEach(async () => {
      failing = await startHarness({ sfs });
    });
    afterEach(() => failing.close());

    it('a policy the SFS does not take changes nothing (503); NS-only changes still work', async () => {
      const send2 = api(failing);
      const before = await managedState(failing);
      const changed = await send2('PATCH', 'servers/acme', rootKey, { policy: { pinAttempts: 3 } });
      await checker.check(changed, 'PATCH', '/api/v2/servers/{server}');
      expect(changed.status).to.equal(503);
      const created = await send2('POST', 'servers', rootKey, { name: 'bank', displayName: 'Bank' });
      expect(created.status).to.equal(503);
      expect(await managedState(failing)).to.deep.equal(before);
      const renamed = await send2('PATCH', 'servers/acme', rootKey, { displayName: 'Renamed' });
      expect(renamed.status).to.equal(200);
    });
  });

  describe('embedded default', () => {
    let embedded: Harness;
    beforeEach(async () => {
      embedded = await startHarness({ protectedServers: ['acme'] });
    });
    afterEach(() => embedded.close());

    it('refuses to delete a protected server with 409 and keeps it', async () => {
      const res = await api(embedded)('DELETE', 'servers/acme', rootKey);
      await checker.check(res.clone(), 'DELETE', '/api/v2/servers/{server}');
      expect(res.status).to.equal(409);
      expect(await embedded.servers.findByName('acme')).to.not.equal(undefined);
    });
  });

  after(() => {
    expect(checker.checked()).to.be.greaterThan(50);
  });
});
