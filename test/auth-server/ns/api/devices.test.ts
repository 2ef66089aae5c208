// The "my devices" browser endpoints over a real listener: the logged-in NS session's user sees and changes
// only their own accounts; removal and enrolment need a fresh login; removing an account ends its sessions;
// every refusal is problem JSON with nothing stored or recorded.
import { expect } from 'chai';
import { freshLoginMs } from '../../../../auth-server/ns/api/device-routes.js';
import { insertAccount } from './fixtures-admin.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

describe('ns devices endpoints', () => {
  let h: Harness;
  const start = async (options: HarnessOptions = {}) => {
    await h?.close();
    h = await startHarness(options);
  };
  let alice1: string;
  let alice2: string;
  let bob1: string;
  beforeEach(async () => {
    await start();
    alice1 = await insertAccount(h, 'alice');
    alice2 = await insertAccount(h, 'alice', 'acme', { description: 'Old phone' });
    bob1 = await insertAccount(h, 'bob');
  });
  afterEach(() => h.close());

  /** A browser logged in to acme as `userid` with `accountId`: its cookie pair. */
  const loggedIn = async (userid: string, accountId: string, server = 'acme') => {
    const { nonce, session } = await h.sessions.createSession({ server, userAgent: 'test', ip: '127.0.0.1' });
    await h.sessions.markLoggedIn(session, { userid, accountId });
    return `nextauth_ns_${server}=${nonce}`;
  };
  const call = (method: string, path: string, cookie?: string, body?: unknown) =>
    fetch(`${h.url}/ns/servers/acme/devices${path}`, {
      method,
      headers: {
        ...(cookie && { cookie }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const accountsState = () => h.knex('ns_accounts').select('*').orderBy('id');
  const auditCount = async () => Number((await h.knex('ns_audit_events').count({ n: '*' }))[0]?.n);

  it('lists only the user’s own accounts, marking the current one', async () => {
    const cookie = await loggedIn('alice', alice1);
    const res = await call('GET', '', cookie);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.contain('no-store');
    const body = await res.json();
    expect(body).to.deep.include({ server: 'acme', userid: 'alice' });
    expect(body.devices.map((d: { id: string; current: boolean }) => [d.id, d.current])).to.deep.equal([
      [alice1, true],
      [alice2, false],
    ]);
    expect(body.devices[1]).to.include({ name: 'Old phone', blocked: false, lastLoginAt: null });
    expect(body.recoveryCodes).to.deep.equal({ enabled: false, remaining: 0 });
  });

  it('refuses browsers that are not logged in (401), also on another server’s cookie', async () => {
    expect((await call('GET', '')).status).to.equal(401);
    const { nonce } = await h.sessions.createSession({ server: 'acme', userAgent: 't', ip: '127.0.0.1' });
    expect((await call('GET', '', `nextauth_ns_acme=${nonce}`)).status).to.equal(401);
    const other = await loggedIn('alice', alice1, 'other');
    expect((await call('GET', '', other.replace('nextauth_ns_other', 'nextauth_ns_acme'))).status).to.equal(
      401,
    );
    const unknown = await fetch(`${h.url}/ns/servers/nope/devices`);
    expect(unknown.status).to.equal(404);
  });

  it('renames an own device (trimmed), recorded with the user as actor', async () => {
    const cookie = await loggedIn('alice', alice1);
    const res = await call('PATCH', `/${alice2}`, cookie, { name: '  Work phone ' });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.include({ id: alice2, name: 'Work phone', current: false });
    const [event] = (await h.audit.query({ types: ['account.updated'] })).events;
    expect(event?.actor).to.deep.equal({ kind: 'user', id: 'alice' });
    expect(event?.subject).to.deep.equal({ kind: 'account', id: alice2 });
  });

  it('refuses bad names, form posts and another user’s account with 4xx, changing nothing', async () => {
    const cookie = await loggedIn('alice', alice1);
    const before = { accounts: await accountsState(), audit: await auditCount() };
    for (const name of ['', '   ', 'x'.repeat(101), 'two\nlines', 'bidi\u202Etext', 42]) {
      const res = await call('PATCH', `/${alice2}`, cookie, { name });
      expect(res.status, JSON.stringify(name)).to.equal(400);
      expect((await res.json()).code).to.equal('invalid_body');
    }
    expect((await call('PATCH', `/${alice2}`, cookie, { name: 'x', extra: 1 })).status).to.equal(400);
    const form = await fetch(`${h.url}/ns/servers/acme/devices/${alice2}`, {
      method: 'PATCH',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=x',
    });
    expect(form.status).to.equal(415);
    const foreign = await call('PATCH', `/${bob1}`, cookie, { name: 'mine now' });
    expect(foreign.status).to.equal(404);
    expect((await foreign.json()).code).to.equal('not_found');
    expect((await call('DELETE', `/${bob1}`, cookie, {})).status).to.equal(404);
    expect((await call('DELETE', '/not*an*id', cookie, {})).status).to.equal(404);
    expect((await call('DELETE', `/${alice2}`, cookie)).status).to.equal(415);
    expect({ accounts: await accountsState(), audit: await auditCount() }).to.deep.equal(before);
  });

  it('removes another own device: its logged-in sessions end, this browser stays logged in', async () => {
    const cookie = await loggedIn('alice', alice1);
    const other = await loggedIn('alice', alice2);
    const res = await call('DELETE', `/${alice2}`, cookie, {});
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ removed: alice2, loggedOut: false });
    expect(res.headers.get('set-cookie')).to.equal(null);
    expect(await h.knex('ns_accounts').where({ id: alice2 }).first()).to.equal(undefined);
    expect((await call('GET', '', other)).status).to.equal(401);
    expect((await call('GET', '', cookie)).status).to.equal(200);
    const [event] = (await h.audit.query({ types: ['account.deleted'] })).events;
    expect(event?.actor).to.deep.equal({ kind: 'user', id: 'alice' });
    expect(event?.details).to.include({ userid: 'alice', sessionsEnded: 1 });
  });

  it('removing the device this browser logged in with logs the browser out', async () => {
    const cookie = await loggedIn('alice', alice1);
    const res = await call('DELETE', `/${alice1}`, cookie, {});
    expect(await res.json()).to.deep.equal({ removed: alice1, loggedOut: true });
    expect(res.headers.get('set-cookie')).to.match(/^nextauth_ns_acme=; Path=\/; Max-Age=0/);
    expect((await call('GET', '', cookie)).status).to.equal(401);
    const status = await h.sessions.getStatus(cookie.split('=')[1] ?? '');
    expect(status.state).to.equal('loggedout');
  });

  it(`needs a login of at most ${freshLoginMs / 60_000} minutes to remove or add a device (403), not to list or rename`, async () => {
    const cookie = await loggedIn('alice', alice1);
    h.clock.advance(freshLoginMs + 1000);
    const before = { accounts: await accountsState(), audit: await auditCount() };
    for (const res of [
      await call('DELETE', `/${alice2}`, cookie, {}),
      await call('POST', '/enrol-link', cookie, {}),
    ]) {
      expect(res.status).to.equal(403);
      expect(await res.json()).to.include({ code: 'forbidden', reason: 'reauthentication_required' });
    }
    expect(await h.knex('ns_enrol_tokens').count({ n: '*' })).to.deep.equal([{ n: 0 }]);
    expect({ accounts: await accountsState(), audit: await auditCount() }).to.deep.equal(before);
    expect((await call('GET', '', cookie)).status).to.equal(200);
    expect((await call('PATCH', `/${alice2}`, cookie, { name: 'Still fine' })).status).to.equal(200);
  });

  it('makes an enrol link for the user’s own userid (QR + visual hash), recorded, rate-limited per user', async () => {
    await start({ limits: { devices: { enrolLinksPerUserHour: 2 } } });
    const a = await insertAccount(h, 'alice');
    const cookie = await loggedIn('alice', a);
    const res = await call('POST', '/enrol-link', cookie, {});
    expect(res.status).to.equal(201);
    const body = await res.json();
    expect(body.uri).to.match(/^nextauth:\/\/enrol\?d=/);
    expect(body.img).to.match(/^data:image\/svg\+xml;base64,/);
    expect(body.visualHash.emoji).to.have.length(4);
    const [token] = await h.knex('ns_enrol_tokens').select('userid');
    expect(token).to.deep.equal({ userid: 'alice' });
    const [event] = (await h.audit.query({ types: ['enrol_link.created'] })).events;
    expect(event?.actor).to.deep.equal({ kind: 'user', id: 'alice' });
    expect((await call('POST', '/enrol-link', cookie, {})).status).to.equal(201);
    const limited = await call('POST', '/enrol-link', cookie, {});
    expect(limited.status).to.equal(429);
    expect(limited.headers.get('retry-after')).to.match(/^\d+$/);
    expect(await h.knex('ns_enrol_tokens').count({ n: '*' })).to.deep.equal([{ n: 2 }]);
  });
});
