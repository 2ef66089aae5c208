// The system check as a person sees it: Chromium opens an app behind real Caddy or nginx (the
// shipped configurations), is sent to the IdP's login page, `nextauth-device` logs in from the QR read off a
// screenshot, the browser lands back on the app and the echo upstream sees Remote-* (never the browser's
// own Remote-User); the step-up rule asks for a new phone confirmation once its window has passed; logout
// at the IdP ends access. One proxy per suite: Chromium is slow on the shared machine.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { type CliResult, runCli } from '../../helpers/cli.js';
import { type ProxyKind, type RunningProxy, requireProxy, startProxy } from '../../helpers/proxies.js';
import { type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { type Echo, type EchoUpstream, startEchoUpstream } from './echo-upstream.js';

const device = 'mobile-sdk/node/cli/main.ts';
const rules = ['rules:', '  - path: /pay/**', '    recent-auth: 5m'].join('\n');

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

for (const kind of ['caddy', 'nginx'] as ProxyKind[]) {
  describe(`forward-auth in Chromium behind real ${kind}, phone login with nextauth-device`, function () {
    this.timeout(120_000);
    let dir: string;
    let e: Embedded;
    let upstream: EchoUpstream;
    let proxy: RunningProxy;
    let browser: Browser;
    let context: BrowserContext;
    /** Moves the IdP's clock (the step-up window) without waiting for it. */
    let offset = 0;

    before(async function () {
      await requireProxy(this, kind);
      browser = await launchChromium(this);
      dir = await mkdtemp(join(tmpdir(), `nextauth-fa-chromium-${kind}-`));
      await writeFile(join(dir, 'rules.yaml'), rules);
      e = await startEmbedded({
        env: { NEXTAUTH_FORWARD_AUTH_RULES: join(dir, 'rules.yaml') },
        clock: { now: () => Date.now() + offset },
      });
      upstream = await startEchoUpstream();
      proxy = await startProxy(kind, { nextauth: new URL(e.url).host, app: upstream.hostPort });
      const profile = await fetch(`${e.url}/ns/api/v2/servers/default/users/alice`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
        body: JSON.stringify({ name: 'Alice Example', email: 'alice@example.org', groups: ['staff', 'ops'] }),
      });
      expect(profile.status, await profile.clone().text()).to.be.oneOf([200, 201]);
      const link = await fetch(`${e.url}/ns/api/v2/enrol-links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
        body: JSON.stringify({ server: 'default', userid: 'alice' }),
      });
      expect(link.status, await link.clone().text()).to.equal(201);
      const { uri } = (await link.json()) as { uri: string };
      const home = join(dir, 'device');
      ok(await runCli(device, ['init', e.url, '--home', home]));
      ok(await runCli(device, ['enrol', uri, '--pin', '1234', '--home', home]));
      // Every request of this browser claims to be root: the shipped configs must drop it.
      context = await browser.newContext({ extraHTTPHeaders: { 'Remote-User': 'root' } });
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await proxy?.stop();
      await upstream?.close();
      await e?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** On the IdP's login page: the phone scans the QR of the screenshot and approves. */
    const phoneLogin = async (page: Page) => {
      await page.waitForSelector('#qr[src^="data:image/"]');
      const qrUri = await readQr(page, '#qr');
      expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
      ok(await runCli(device, ['login', qrUri, '--pin', '1234', '--approve', '--home', join(dir, 'device')]));
    };

    /** What the upstream echoed into the page (the app's body is the JSON of the headers it received). */
    const echoed = async (page: Page): Promise<Echo> =>
      JSON.parse(((await page.locator('body').textContent()) ?? '').trim()) as Echo;

    it('anonymous → login page → QR login → back on the app with Remote-*; step-up after the window; logout ends access', async () => {
      const page = await context.newPage();
      const app = `${proxy.url}/docs?x=1`;
      await page.goto(app);
      // Redirected by the proxy (nginx through its error_page) to the IdP's login page.
      expect(page.url().startsWith(`${e.url}/login/default?`), page.url()).to.equal(true);
      expect(new URL(page.url()).searchParams.get('return_to')).to.equal(app);

      await phoneLogin(page);
      await page.waitForURL(app);
      const seen = (await echoed(page)).headers;
      expect(seen).to.include({
        'remote-user': 'alice',
        'remote-email': 'alice@example.org',
        'remote-name': 'Alice Example',
        'remote-groups': 'ops,staff',
      });

      // Step-up: /pay/** is fine right after the login …
      const pay = `${proxy.url}/pay/now`;
      await page.goto(pay);
      expect((await echoed(page)).headers['remote-user']).to.equal('alice');
      // … and once the confirmation is older than 5 minutes the login page shows the QR again.
      offset += 6 * 60_000;
      await page.goto(pay);
      const stepUp = new URL(page.url());
      expect(stepUp.origin + stepUp.pathname).to.equal(`${e.url}/login/default`);
      expect(stepUp.searchParams.get('max_age')).to.equal('300');
      await phoneLogin(page);
      await page.waitForURL(pay);
      expect((await echoed(page)).headers['remote-user']).to.equal('alice');

      // Logout at the IdP (its confirmation page, then the button) ends access in this browser.
      await page.goto(`${e.url}/logout`);
      await Promise.all([page.waitForLoadState('load'), page.click('#logout')]);
      await page.goto(app);
      expect(page.url().startsWith(`${e.url}/login/default?`), page.url()).to.equal(true);
      await page.close();
    });
  });
}
