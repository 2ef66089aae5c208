// End to end: the embedded runtime behind real Caddy and nginx (the shipped configurations), a browser that
// is a plain HTTP client with a cookie jar, and the real mobile SDK as the phone. Anonymous → login page →
// QR login → back to the app, which sees Remote-*; groups 403; step-up with a fresh phone confirmation;
// logout and the idle timeout end access.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type ProxyKind, type RunningProxy, requireProxy, startProxy } from '../../helpers/proxies.js';
import { completeBody, frontDoorQrLogin } from '../interaction/front-door-harness.js';
import { Browser, type Embedded, Phone, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { type Echo, type EchoUpstream, startEchoUpstream } from './echo-upstream.js';

const rules = [
  'rules:',
  '  - path: ["/admin", "/admin/**"]',
  '    groups: [admins]',
  '  - path: /pay/**',
  '    recent-auth: 5m',
].join('\n');
const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('forward-auth end to end: phone login behind real proxies', function () {
  this.timeout(90_000);
  let dir: string;
  let e: Embedded;
  let upstream: EchoUpstream;
  let alice: Phone;
  let offset = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-fa-e2e-'));
    await writeFile(join(dir, 'rules.yaml'), rules);
    e = await startEmbedded({
      env: { NEXTAUTH_FORWARD_AUTH_RULES: join(dir, 'rules.yaml') },
      clock: { now: () => Date.now() + offset },
    });
    upstream = await startEchoUpstream();
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/users/alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ name: 'Alice Example', email: 'alice@example.org', groups: ['staff'] }),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
  });
  after(async () => {
    await upstream?.close();
    await e?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ['caddy', 'nginx'] as ProxyKind[]) {
    describe(`through ${kind}`, () => {
      let proxy: RunningProxy;
      before(async function () {
        await requireProxy(this, kind);
        offset = 0;
        proxy = await startProxy(kind, { nextauth: new URL(e.url).host, app: upstream.hostPort });
      });
      after(() => proxy?.stop());

      /** Loopback hosts share cookies across ports, as a browser does: one jar for the IdP and the app. */
      const login = async (b: Browser, location: string) => {
        const data = await frontDoorQrLogin(b, alice, location);
        const done = await b.postJson(data.complete, completeBody(data));
        expect(done.status, await done.clone().text()).to.equal(200);
        return ((await done.json()) as { location: string }).location;
      };

      it('anonymous → login page; after the phone login the app sees Remote-*; spoofing is dropped; groups 403; step-up; logout', async () => {
        const b = new Browser(e.url);
        const first = await b.fetch(`${proxy.url}/docs?x=1`, { headers: html });
        expect(first.status, proxy.output()).to.equal(302);
        const loginUrl = new URL(first.headers.get('location') ?? '');
        expect(loginUrl.origin + loginUrl.pathname).to.equal(`${e.url}/login/default`);
        expect(loginUrl.searchParams.get('return_to')).to.equal(`${proxy.url}/docs?x=1`);

        const back = await login(b, loginUrl.href);
        expect(back).to.equal(`${proxy.url}/docs?x=1`);
        const page = await b.fetch(back, {
          headers: { ...html, 'Remote-User': 'root', 'Remote-Groups': 'admins' },
        });
        expect(page.status, proxy.output()).to.equal(200);
        const seen = ((await page.json()) as Echo).headers;
        expect(seen).to.include({
          'remote-user': 'alice',
          'remote-email': 'alice@example.org',
          'remote-name': 'Alice Example',
          'remote-groups': 'staff',
        });

        // Not in admins: 403, and a login would not change that.
        expect((await b.fetch(`${proxy.url}/admin/`, { headers: html })).status).to.equal(403);

        // Step-up: fine right after the login, a fresh phone confirmation once it is older than 5 minutes.
        expect((await b.fetch(`${proxy.url}/pay/now`, { headers: html })).status).to.equal(200);
        offset += 6 * 60_000;
        const stale = await b.fetch(`${proxy.url}/pay/now`, { headers: html });
        expect(stale.status).to.equal(302);
        const stepUp = new URL(stale.headers.get('location') ?? '');
        expect(stepUp.searchParams.get('max_age')).to.equal('300');
        // Without a new confirmation the login page shows the QR again instead of going straight back.
        expect((await b.fetch(stepUp.href)).status).to.equal(200);
        expect(await login(b, stepUp.href)).to.equal(`${proxy.url}/pay/now`);
        expect((await b.fetch(`${proxy.url}/pay/now`, { headers: html })).status).to.equal(200);

        // Logout at the IdP ends the session on the server: the replayed cookie gets 401.
        const replay = b.cookieHeader(new URL(`${proxy.url}/`));
        const confirm = await b.fetch('/logout');
        expect(await confirm.text()).to.contain('id="logout"');
        const logout = await b.fetch('/logout', {
          method: 'POST',
          headers: { origin: e.url, 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        });
        expect(logout.status).to.equal(200);
        expect((await b.fetch(`${proxy.url}/docs`, { headers: html })).status).to.equal(302);
        const after = await fetch(`${proxy.url}/docs`, {
          headers: { cookie: replay, accept: 'application/json' },
        });
        expect(after.status).to.equal(401);
      });

      it('an IdP session left idle past NEXTAUTH_IDP_SESSION_IDLE (1 h) no longer opens the app', async () => {
        const b = new Browser(e.url);
        const first = await b.fetch(`${proxy.url}/docs`, { headers: html });
        const back = await login(b, first.headers.get('location') ?? '');
        expect((await b.fetch(back, { headers: html })).status).to.equal(200);
        offset += 61 * 60_000;
        const idle = await b.fetch(back, { headers: html });
        expect(idle.status).to.equal(302);
        expect(idle.headers.get('location')).to.match(/\/login\/default\?return_to=/);
        expect((await b.fetch(back, { headers: { accept: 'application/json' } })).status).to.equal(401);
      });
    });
  }
});
