// "Log in, then go back" for the front doors that are not OIDC: GET /login/{server}?return_to= shows the QR
// page (or goes straight back when the IdP session suffices), POST /login/{server}/complete collects the NS
// login and establishes the IdP session; return_to is checked on both; step-up with max_age.
import { expect } from 'chai';
import { sessionsTable } from '../../../idp/session/repository.js';
import { Browser, type Embedded, Phone, startEmbedded } from '../oidc/harness.js';
import { completeBody, frontDoorQrLogin } from './front-door-harness.js';

const cookie = 'nextauth_idp_default';

describe('idp/interaction: front-door login (return_to, step-up)', function () {
  this.timeout(60_000);
  let e: Embedded;
  let offset = 0;
  let alice: Phone;
  let bob: Phone;
  const sessionCount = async () =>
    Number((await e.runtime.dbs.idp?.(sessionsTable).count({ n: '*' }).first())?.n ?? -1);

  before(async () => {
    e = await startEmbedded({ clock: { now: () => Date.now() + offset } });
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    bob = await Phone.open(e.url);
    await bob.enrol(e.url, 'bob');
  });
  after(() => e?.close());

  /** A browser logged in through the front-door page; the return_to it was sent to. */
  const loggedIn = async (b = new Browser(e.url), phone = alice, query = 'return_to=/demo') => {
    const data = await frontDoorQrLogin(b, phone, `/login/default?${query}`);
    const done = await b.postJson(data.complete, completeBody(data));
    expect(done.status, await done.clone().text()).to.equal(200);
    return { b, location: ((await done.json()) as { location: string }).location };
  };

  it('shows the QR page carrying return_to, and complete answers it after establishing the IdP session', async () => {
    const b = new Browser(e.url);
    const { location } = await loggedIn(b);
    expect(location).to.equal(`${e.url}/demo`);
    expect(b.cookie(cookie)).to.match(/^[A-Za-z0-9_-]{43}$/);
    const session = await e.runtime.idpSessions?.current(
      { cookies: { get: () => b.cookie(cookie) } } as never,
      'default',
    );
    expect(session).to.deep.include({ userid: 'alice', server: 'default' });
    expect(session?.amr).to.deep.equal(['swk', 'pin']);
  });

  it('sends a browser with a live IdP session straight back (no QR)', async () => {
    const { b } = await loggedIn();
    const res = await b.fetch('/login/default?return_to=%2Fdevices%2Fdefault');
    expect(res.status).to.equal(303);
    expect(res.headers.get('location')).to.equal(`${e.url}/devices/default`);
    // A browser without the cookie gets the QR page.
    const other = new Browser(e.url);
    expect((await other.fetch('/login/default?return_to=%2Fdemo')).status).to.equal(200);
  });

  const badReturnTo = [
    '//evil.example/',
    'https://evil.example/',
    'javascript:alert(1)',
    '/\\evil.example/',
    'https:\\\\evil.example',
    `${'http://127.0.0.1:1'}@evil.example/`,
    'http://user:pass@127.0.0.1/',
    '/\t/evil.example',
    'evil.example',
  ];

  it('refuses a bad return_to on the page with a 400 error page and no redirect', async () => {
    const { b } = await loggedIn();
    for (const bad of [...badReturnTo, `${e.url}@evil.example/`]) {
      const res = await b.fetch(`/login/default?return_to=${encodeURIComponent(bad)}`);
      expect(res.status, bad).to.equal(400);
      expect(res.headers.get('location'), bad).to.equal(null);
      expect(await res.text()).to.contain('invalid_request');
    }
    const twice = await b.fetch('/login/default?return_to=%2Fa&return_to=%2Fb');
    expect(twice.status).to.equal(400);
    for (const bad of ['-1', '1.5', 'abc', '99999999999']) {
      const res = await b.fetch(`/login/default?return_to=%2Fdemo&max_age=${bad}`);
      expect(res.status, bad).to.equal(400);
    }
  });

  it('refuses a bad return_to on complete without creating a session or using up the NS login', async () => {
    const b = new Browser(e.url);
    const data = await frontDoorQrLogin(b, alice, '/login/default?return_to=%2Fdemo');
    const before = await sessionCount();
    for (const bad of [...badReturnTo, `${e.url}@evil.example/`]) {
      const res = await b.postJson(data.complete, { return_to: bad });
      expect(res.status, bad).to.equal(400);
      const problem = (await res.json()) as { code: string };
      expect(problem.code, bad).to.equal('bad_request');
    }
    for (const body of [{}, { return_to: '/demo', extra: 1 }, { return_to: '/demo', max_age: -1 }]) {
      expect((await b.postJson(data.complete, body)).status, JSON.stringify(body)).to.equal(400);
    }
    expect((await b.postJson('/login/nope/complete', { return_to: '/demo' })).status).to.equal(404);
    const form = await b.fetch(data.complete, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'return_to=%2Fdemo',
    });
    expect(form.status).to.equal(415);
    expect(await sessionCount()).to.equal(before);
    expect(b.cookie(cookie)).to.equal(undefined);
    // The login was not used up by the refusals.
    const ok = await b.postJson(data.complete, { return_to: '/demo' });
    expect(ok.status).to.equal(200);
    expect(await sessionCount()).to.equal(before + 1);
  });

  it('answers 409 with the reason when there is no NS login, it is pending or used', async () => {
    const b = new Browser(e.url);
    const none = await b.postJson('/login/default/complete', { return_to: '/demo' });
    expect(none.status).to.equal(409);
    expect(await none.json()).to.deep.include({ reason: 'no_login_session' });
    await b.postJson('/ns/servers/default/browser-session');
    const pending = await b.postJson('/login/default/complete', { return_to: '/demo' });
    expect(await pending.json()).to.deep.include({ reason: 'login_pending' });
    const { b: used } = await loggedIn();
    const again = await used.postJson('/login/default/complete', { return_to: '/demo' });
    expect(again.status).to.equal(409);
    expect(await again.json()).to.deep.include({ reason: 'login_used' });
  });

  it('answers 403 login_declined when the phone declined, and makes no session', async () => {
    const b = new Browser(e.url);
    const before = await sessionCount();
    const data = await frontDoorQrLogin(b, alice, '/login/default?return_to=%2Fdemo', 'decline');
    const res = await b.postJson(data.complete, completeBody(data));
    expect(res.status).to.equal(403);
    expect(await res.json()).to.deep.include({ reason: 'login_declined' });
    expect(await sessionCount()).to.equal(before);
  });

  describe('step-up (max_age)', () => {
    afterEach(() => {
      offset = 0;
    });

    it('shows the QR page when the session is older than max_age, and the new login replaces it', async () => {
      const { b } = await loggedIn();
      const oldSecret = b.cookie(cookie);
      offset += 600_000;
      // Young enough for an hour, not for five minutes.
      expect((await b.fetch('/login/default?return_to=%2Fdemo&max_age=3600')).status).to.equal(303);
      const data = await frontDoorQrLogin(b, alice, '/login/default?return_to=%2Fdemo&max_age=300');
      expect(data.maxAge).to.equal('300');
      const done = await b.postJson(data.complete, completeBody(data));
      expect(done.status, await done.clone().text()).to.equal(200);
      expect(b.cookie(cookie)).to.not.equal(oldSecret);
      expect((await b.fetch('/login/default?return_to=%2Fdemo&max_age=300')).status).to.equal(303);
      // The replaced session's cookie is dead.
      const replay = new Browser(e.url);
      replay.cookies.push({ name: cookie, value: String(oldSecret), path: '/' });
      expect((await replay.fetch('/login/default?return_to=%2Fdemo')).status).to.equal(200);
    });

    it('refuses (409 login_stale) an NS login older than max_age', async () => {
      const b = new Browser(e.url);
      const data = await frontDoorQrLogin(b, alice, '/login/default?return_to=%2Fdemo&max_age=300');
      offset += 600_000;
      const stale = await b.postJson(data.complete, completeBody(data));
      expect(stale.status).to.equal(409);
      expect(await stale.json()).to.deep.include({ reason: 'login_stale' });
      expect(b.cookie(cookie)).to.equal(undefined);
    });

    it('a step-up by another user gives that user a fresh session', async () => {
      const { b } = await loggedIn();
      offset += 600_000;
      const data = await frontDoorQrLogin(b, bob, '/login/default?return_to=%2Fdemo&max_age=300');
      const done = await b.postJson(data.complete, completeBody(data));
      expect(done.status).to.equal(200);
      const session = await e.runtime.idpSessions?.current(
        { cookies: { get: () => b.cookie(cookie) } } as never,
        'default',
      );
      expect(session?.userid).to.equal('bob');
    });
  });
});
