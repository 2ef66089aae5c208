// The whole product as a person uses it: `nextauth start`, a browser showing the login page, a phone
// (`nextauth-device`) that enrols, scans the QR read from a screenshot, and approves or declines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, readQr } from '../helpers/browser.js';
import { type CliResult, exited, runCli, spawnCli, waitFor } from '../helpers/cli.js';
import { freePort } from '../helpers/http.js';

const nextauth = 'idp/admin/cli/main.ts';
const device = 'mobile-sdk/node/cli/main.ts';

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

describe('e2e: QR login in Chromium with nextauth-device', function () {
  this.timeout(120_000);
  let browser: Browser;
  let server: ReturnType<typeof spawnCli>;
  let dataDir: string;
  let home: string;
  let url: string;
  let env: Record<string, string>;

  before(async function () {
    browser = await launchChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-e2e-'));
    home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
    const [port, adminPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    env = {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PORT: String(port),
      NEXTAUTH_ADMIN_PORT: String(adminPort),
      NEXTAUTH_HOST: '127.0.0.1',
      NEXTAUTH_PUBLIC_URL: url,
    };
    server = spawnCli(nextauth, ['start'], env);
    await waitFor(`http://127.0.0.1:${adminPort}/readyz`, 200, 30_000);
    ok(await runCli(device, ['init', url, '--home', home]));
    const link = ok(
      await runCli(
        nextauth,
        ['user', 'enrol-link', '--server', 'default', '--user', 'alice', '--url', url],
        env,
      ),
    );
    const enrolUri = link.stdout.split('\n')[0] ?? '';
    expect(enrolUri).to.match(/^nextauth:\/\/enrol\?d=/);
    ok(await runCli(device, ['enrol', enrolUri, '--pin', '1234', '--home', home]));
  });

  after(async () => {
    await browser?.close();
    if (server) {
      server.kill('SIGTERM');
      await exited(server);
    }
    for (const dir of [dataDir, home]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function loginPage(): Promise<{ page: Page; qrUri: string }> {
    const page = await browser.newPage();
    await page.goto(`${url}/login`);
    await page.waitForSelector('#qr[src^="data:image/"]');
    const qrUri = await readQr(page, '#qr');
    expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
    expect(await page.getAttribute('#qr', 'data-uri')).to.equal(qrUri);
    return { page, qrUri };
  }

  it('approving on the phone logs the browser in', async () => {
    const { page, qrUri } = await loginPage();
    ok(await runCli(device, ['login', qrUri, '--pin', '1234', '--approve', '--home', home]));
    await page.waitForURL(`${url}/login/default/done`);
    await page.waitForSelector('#who[data-userid]');
    expect(await page.getAttribute('#who', 'data-userid')).to.equal('alice');
    await page.close();
  });

  it('declining on the phone ends in the declined state', async () => {
    const { page, qrUri } = await loginPage();
    ok(await runCli(device, ['login', qrUri, '--deny', '--home', home]));
    await page.waitForSelector('#status[data-state="declined"]');
    expect(await page.isVisible('#restart')).to.equal(true);
    await page.close();
  });

  it('a wrong PIN is refused and the browser stays waiting', async () => {
    const { page, qrUri } = await loginPage();
    const r = await runCli(device, ['login', qrUri, '--pin', '9999', '--approve', '--home', home]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/pin_invalid/);
    expect(await page.getAttribute('#status', 'data-state')).to.not.equal('loggedin');
    await page.close();
  });
});
