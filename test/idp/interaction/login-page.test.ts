// The login page in headless Chromium against an in-process embedded runtime.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../../idp/runtime/runtime.js';
import { parseLoginUri } from '../../../protocol/mobile/uris.js';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { freePort } from '../../helpers/http.js';

describe('idp/interaction: login page in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let runtime: Runtime;
  let dataDir: string;
  let url: string;

  before(async function () {
    browser = await launchChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-page-'));
    const [port, adminPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(adminPort),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_PUBLIC_URL: url,
      },
      { mode: 'embedded' },
    );
    runtime = await startRuntime({
      config,
      logger: createLogger({ level: 'silent', format: 'json' }),
      services: ['ns', 'sfs', 'mc', 'idp'],
    });
  });

  after(async () => {
    await browser?.close();
    await runtime?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows the QR without a click; the screenshot decodes to the login URI of this server', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${url}/login`);
    expect(page.url()).to.equal(`${url}/login/default`);
    expect(res?.headers()['content-security-policy']).to.contain("script-src 'self'");
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    // The code rotates: the screenshot shows the URI the page named just before or just after it.
    const before = await page.getAttribute('#qr', 'data-uri');
    const uri = await readQr(page, '#qr');
    expect([before, await page.getAttribute('#qr', 'data-uri')]).to.include(uri);
    // The same URI as text, for people (and virtual phones) that cannot scan; read in one go with the image's.
    const [shown, asText] = await page.$eval('#qr', (img) => [
      img.getAttribute('data-uri'),
      document.getElementById('qr-text')?.textContent,
    ]);
    expect(asText).to.equal(shown);
    const data = parseLoginUri(uri);
    expect(data).to.include({ v: 1, ns: url, s: 'default' });
    expect(await page.getAttribute('#status', 'data-state')).to.equal('waiting');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name.startsWith('nextauth_ns_'));
    expect(session?.httpOnly).to.equal(true);
    // The cookie holds the nonce; the QR must not.
    expect(uri).to.not.contain(session?.value ?? '<none>');
    expect(Buffer.from(uri.split('d=')[1] ?? '', 'base64url').toString()).to.not.contain(
      session?.value ?? '<none>',
    );
    await page.close();
  });

  it('resumes the same login on reload instead of starting another', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/login/default`);
    await page.waitForSelector('#qr[src^="data:image/"]');
    const before = await page.context().cookies();
    await page.reload();
    await page.waitForSelector('#qr[src^="data:image/"]');
    expect(await page.context().cookies()).to.deep.equal(before);
    await page.close();
  });

  it('reports an error for an unknown virtual server and 404s a malformed name', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/login/nosuchserver`);
    await page.waitForSelector('#status[data-state="error"]');
    expect(await page.isVisible('#qr')).to.equal(false);
    const bad = await page.goto(`${url}/login/Bad_Name!`);
    expect(bad?.status()).to.equal(404);
    await page.close();
  });

  it('the logged-in page says so when the browser is not logged in', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/login/default/done`);
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.includes('not logged in'));
    await page.close();
  });
});
