// The whole product as a person uses it: `nextauth start`, a browser showing the login page, a phone
// (`nextauth-device`) that enrols, scans the QR read from a screenshot, and approves or declines. Runs on
// every deployment kind; with two instances the page waits on one while the phone confirms on the other.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, readQr } from '../helpers/browser.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { describeEachDeployment, nextauthCli as nextauth } from './deployments.js';

const device = 'mobile-sdk/node/cli/main.ts';

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

describeEachDeployment('e2e: QR login in Chromium with nextauth-device', (deployment) => {
  let browser: Browser;
  let home: string;
  let url: string;

  before(async function () {
    browser = await launchChromium(this);
    const { browserUrl, phoneUrl, env } = deployment();
    url = browserUrl;
    home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
    ok(await runCli(device, ['init', phoneUrl, '--home', home]));
    const link = ok(
      await runCli(
        nextauth,
        ['user', 'enrol-link', '--server', 'default', '--user', 'alice', '--url', phoneUrl],
        env,
      ),
    );
    const enrolUri = link.stdout.split('\n')[0] ?? '';
    expect(enrolUri).to.match(/^nextauth:\/\/enrol\?d=/);
    ok(await runCli(device, ['enrol', enrolUri, '--pin', '1234', '--home', home]));
  });

  after(async () => {
    await browser?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  async function loginPage(): Promise<{ page: Page; qrUri: string }> {
    const page = await browser.newPage();
    await page.goto(`${url}/login`);
    await page.waitForSelector('#qr[src^="data:image/"]');
    // The code rotates: the screenshot shows the URI the page named just before or just after it.
    const before = await page.getAttribute('#qr', 'data-uri');
    const qrUri = await readQr(page, '#qr');
    const after = await page.getAttribute('#qr', 'data-uri');
    expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
    expect([before, after]).to.include(qrUri);
    return { page, qrUri };
  }

  it('approving on the phone logs the browser in', async () => {
    const { page, qrUri } = await loginPage();
    ok(await runCli(device, ['login', qrUri, '--pin', '1234', '--approve', '--home', home]));
    // The page's language goes along (`?ui_locales=`).
    await page.waitForURL(`${url}/login/default/done?ui_locales=en`);
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

  it('"not me" on the phone shows its own state, apart from a plain decline', async () => {
    const { page, qrUri } = await loginPage();
    ok(await runCli(device, ['login', qrUri, '--not-me', '--home', home]));
    await page.waitForSelector('#status[data-state="notme"]');
    expect(await page.isVisible('#h-notme')).to.equal(true);
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

  // Last: it locks this device's PIN at the SFS.
  it('wrong PINs until the lockout: the page that waits for that phone shows the locked state', async () => {
    let last: { page: Page; stderr: string } | undefined;
    for (let i = 0; i < 6; i++) {
      await last?.page.close();
      const { page, qrUri } = await loginPage();
      const r = await runCli(device, ['login', qrUri, '--pin', '0000', '--approve', '--home', home]);
      expect(r.code).to.not.equal(0);
      last = { page, stderr: r.stderr };
      if (/pin_locked/.test(r.stderr)) break;
    }
    expect(last?.stderr).to.match(/pin_locked/);
    await last?.page.waitForSelector('#status[data-state="locked"]');
    expect(await last?.page.isVisible('#h-locked')).to.equal(true);
    expect(await last?.page.isVisible('#restart')).to.equal(true);
    await last?.page.close();
  });
});
