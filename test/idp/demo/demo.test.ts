// `/demo`: the embedded runtime's own relying party. Its client is registered at start-up (secret kept in
// the registry), its login runs the code flow with PKCE, state and nonce through the QR login, and its pages
// keep the login page's CSP. Every refusal shows an error page and leaves the demo logged out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { systemClock, systemRandom } from '../../../auth-server/common/clock.js';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { ensureDemoClient } from '../../../idp/demo/demo-client.js';
import { createClientRepository } from '../../../idp/oidc/clients.js';
import { startRuntime } from '../../../idp/runtime/runtime.js';
import { freePort } from '../../helpers/http.js';
import { Browser, type Embedded, Phone, qrLogin, rootApiKey, startEmbedded } from '../oidc/harness.js';

const silent = createLogger({ level: 'silent', format: 'json' });

describe('idp/demo: the /demo relying party', function () {
  this.timeout(60_000);
  let e: Embedded;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/users/alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ name: 'Alice <Example>', email: 'alice@example.org', groups: ['staff'] }),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
  });
  after(() => e?.close());

  const clients = () => {
    const knex = e.runtime.dbs.idp;
    const secretKey = e.runtime.config.secretKey;
    if (!knex || secretKey === undefined) throw new Error('no IdP database');
    return createClientRepository({
      knex,
      secretKey,
      clock: systemClock,
      random: systemRandom,
    });
  };

  /** The demo's login in `b` up to its callback, which `b` follows back to /demo. */
  async function logIn(b: Browser): Promise<Response> {
    const started = await b.fetch('/demo/login', { method: 'POST' });
    expect(started.status).to.equal(303);
    const first = await b.navigate(started.headers.get('location') ?? '');
    expect(first.url).to.match(/\/oidc\/default\/interaction\//);
    const done = await qrLogin(b, alice, first.url);
    expect(done.status).to.equal(200);
    const { location } = (await done.json()) as { location: string };
    const back = await b.navigate(location);
    expect(back.url, `${back.res.status} ${await back.res.clone().text()}`).to.equal(`${e.url}/demo`);
    return back.res;
  }

  it('is registered at start-up as a first-party confidential client of `default`', async () => {
    const demo = await clients().get('default', 'demo');
    expect(demo).to.include({ public: false, thirdParty: false });
    expect(demo?.redirectUris).to.deep.equal([`${e.url}/demo/callback`]);
    expect(demo?.postLogoutRedirectUris).to.deep.equal([`${e.url}/demo`]);
  });

  it('keeps its secret across start-ups and re-registers for a new public URL', async () => {
    const repo = clients();
    const before = await repo.providerMetadata('default', 'demo');
    const again = await ensureDemoClient(repo, e.url, silent);
    expect(again.secret).to.equal(before?.client_secret);
    const moved = await ensureDemoClient(repo, 'https://idp.example.org', silent);
    expect(moved.redirectUri).to.equal('https://idp.example.org/demo/callback');
    expect(moved.secret).to.not.equal(again.secret);
    // Back to this server's URL and the running demo's secret, for the other tests.
    await repo.remove('default', 'demo');
    await repo.add({
      server: 'default',
      clientId: 'demo',
      secret: String(before?.client_secret),
      redirectUris: [`${e.url}/demo/callback`],
      postLogoutRedirectUris: [`${e.url}/demo`],
    });
    const back = await ensureDemoClient(repo, e.url, silent);
    expect(back.secret).to.equal(before?.client_secret);
  });

  it('shows the login button under the login page CSP, and is linked from the home page', async () => {
    const res = await fetch(`${e.url}/demo`);
    expect(res.status).to.equal(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp)
      .to.include("script-src 'self'")
      .and.include("style-src 'self'")
      .and.not.include('unsafe-inline');
    expect(csp).to.match(/form-action 'self' http:\/\/127\.0\.0\.1:\d+/);
    const html = await res.text();
    expect(html).to.include('id="demo-login"').and.include('action="/demo/login"');
    expect(await (await fetch(`${e.url}/`)).text()).to.include('href="/demo"');
  });

  it('logs in through the QR login and shows userid, name, email, groups and the claims, escaped', async () => {
    const b = new Browser(e.url);
    const started = await b.fetch('/demo/login', { method: 'POST' });
    const auth = new URL(started.headers.get('location') ?? '');
    expect(auth.href.startsWith(`${e.issuer}/auth?`)).to.equal(true);
    expect(auth.searchParams.get('code_challenge_method')).to.equal('S256');
    expect(auth.searchParams.get('state')).to.be.a('string');
    expect(auth.searchParams.get('nonce')).to.be.a('string');
    expect(auth.searchParams.get('scope')).to.equal('openid profile email groups');
    const setCookie = started.headers.getSetCookie().join('\n');
    expect(setCookie).to.match(/nextauth_demo_flow=[^;]+; Path=\/demo; Max-Age=600; HttpOnly; SameSite=Lax/);

    const b2 = new Browser(e.url);
    const page = await logIn(b2);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('data-userid="alice"');
    expect(html).to.include('<dd id="demo-name">Alice &lt;Example&gt;</dd>');
    expect(html).to.include('<dd id="demo-email">alice@example.org</dd>');
    expect(html).to.include('<dd id="demo-groups">staff</dd>');
    expect(html).to.include('&quot;iss&quot;: &quot;');
    expect(html).not.to.include('<Example>');
    expect(b2.cookie('nextauth_demo_flow')).to.equal(undefined);
    expect(b2.cookie('nextauth_demo')).to.be.a('string');
  });

  it('logs out at the IdP (RP-initiated) with the ID token as hint', async () => {
    const b = new Browser(e.url);
    await logIn(b);
    const res = await b.fetch('/demo/logout', { method: 'POST' });
    expect(res.status).to.equal(303);
    const to = new URL(res.headers.get('location') ?? '');
    expect(to.href.startsWith(`${e.issuer}/session/end?`)).to.equal(true);
    expect(to.searchParams.get('post_logout_redirect_uri')).to.equal(`${e.url}/demo`);
    expect(to.searchParams.get('id_token_hint')).to.be.a('string');
    expect(b.cookie('nextauth_demo')).to.equal(undefined);
    expect(await (await b.fetch('/demo')).text()).to.include('id="demo-login"');
  });

  describe('refusals: an error page, and still logged out', () => {
    const loggedOut = async (b: Browser) => {
      expect(b.cookie('nextauth_demo')).to.equal(undefined);
      expect(await (await b.fetch('/demo')).text()).to.include('id="demo-login"');
    };

    it('a callback without the flow cookie', async () => {
      const b = new Browser(e.url);
      const res = await b.fetch('/demo/callback?code=x&state=y');
      expect(res.status).to.equal(400);
      expect(await res.text()).to.include('login_not_started');
      await loggedOut(b);
    });

    it('a tampered flow cookie', async () => {
      const b = new Browser(e.url);
      await b.fetch('/demo/login', { method: 'POST' });
      const cookie = b.cookie('nextauth_demo_flow') ?? '';
      const [payload = '', mac = ''] = cookie.split('.');
      const forged = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, string>;
      forged.state = 'attacker';
      b.cookies.splice(0, b.cookies.length, {
        name: 'nextauth_demo_flow',
        value: `${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`,
        path: '/demo',
      });
      const res = await b.fetch('/demo/callback?code=x&state=attacker');
      expect(res.status).to.equal(400);
      expect(await res.text()).to.include('login_not_started');
      await loggedOut(b);
    });

    it('a state that is not the one sent', async () => {
      const b = new Browser(e.url);
      await b.fetch('/demo/login', { method: 'POST' });
      const res = await b.fetch(`/demo/callback?code=x&state=other&iss=${encodeURIComponent(e.issuer)}`);
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-security-policy')).to.include("default-src 'none'");
      await loggedOut(b);
    });

    it('an error from the IdP (the user declined)', async () => {
      const b = new Browser(e.url);
      await b.fetch('/demo/login', { method: 'POST' });
      const res = await b.fetch(
        '/demo/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s',
      );
      expect(res.status).to.equal(400);
      const html = await res.text();
      expect(html).to.include('access_denied').and.include('&lt;b&gt;no&lt;/b&gt;');
      await loggedOut(b);
    });

    it('an oversized callback URL', async () => {
      const b = new Browser(e.url);
      await b.fetch('/demo/login', { method: 'POST' });
      const res = await b.fetch(`/demo/callback?code=${'x'.repeat(5000)}&state=s`);
      expect(res.status).to.equal(414);
      await loggedOut(b);
    });

    it('a forged session cookie', async () => {
      const b = new Browser(e.url);
      b.cookies.push({ name: 'nextauth_demo', value: 'eyJpZFRva2VuIjoieCJ9.AAAA', path: '/demo' });
      expect(await (await b.fetch('/demo')).text()).to.include('id="demo-login"');
    });
  });
});

describe('idp/demo: the demo client secret stays out of the logs', function () {
  this.timeout(60_000);

  it('at first registration and at re-registration for another public URL, at debug level', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-demo-'));
    let logs = '';
    const destination = new Writable({
      write(chunk, _enc, done) {
        logs += String(chunk);
        done();
      },
    });
    const start = async (publicUrl?: string) => {
      const port = await freePort();
      const config = loadConfig(
        {
          NEXTAUTH_DATA_DIR: dataDir,
          NEXTAUTH_PORT: String(port),
          NEXTAUTH_ADMIN_PORT: String(await freePort()),
          NEXTAUTH_HOST: '127.0.0.1',
          NEXTAUTH_PUBLIC_URL: publicUrl ?? `http://127.0.0.1:${port}`,
        },
        { mode: 'embedded' },
      );
      return startRuntime({
        config,
        logger: createLogger({ level: 'debug', format: 'json', destination }),
        services: ['ns', 'sfs', 'mc', 'idp'],
      });
    };
    try {
      const secrets: string[] = [];
      for (const url of [undefined, 'https://idp.example.org']) {
        const runtime = await start(url);
        try {
          const knex = runtime.dbs.idp;
          const secretKey = runtime.config.secretKey;
          if (!knex || secretKey === undefined) throw new Error('no IdP database');
          const repo = createClientRepository({ knex, secretKey, clock: systemClock, random: systemRandom });
          secrets.push(String((await repo.providerMetadata('default', 'demo'))?.client_secret));
        } finally {
          await runtime.close();
        }
      }
      expect(secrets[0]).to.not.equal(secrets[1]);
      expect(logs).to.include('demo client re-registered');
      for (const secret of secrets) expect(logs).to.not.include(secret);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
