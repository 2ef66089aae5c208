// The "my devices" and recovery pages in headless Chromium, with the real mobile SDK as phones over the
// embedded runtime: log in by QR, list, rename, add a second phone from the page's QR, remove it (its
// logged-in browser session ends at once and its next login is refused), recovery codes and a recovery,
// the server's accent and app link on the login page, and axe-core on the new pages (no serious violations).
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { driveFlow } from '../../../mobile-sdk/core/flows/drive.js';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { type Embedded, Phone, rootApiKey, startEmbedded } from '../oidc/harness.js';

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

describe('idp/interaction: my devices and recovery pages in Chromium', function () {
  this.timeout(180_000);
  let chromium: Chromium;
  let e: Embedded;
  let alice: Phone;
  const contexts: BrowserContext[] = [];

  before(async function () {
    chromium = await launchChromium(this);
    e = await startEmbedded();
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    await patchServer({ recoveryCodes: true });
  });
  after(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await chromium?.close();
    await e?.close();
  });

  async function patchServer(body: unknown) {
    const res = await fetch(`${e.url}/ns/api/v2/servers/default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).to.equal(200);
  }

  async function newPage(options: Parameters<Chromium['newContext']>[0] = {}): Promise<Page> {
    // bypassCSP only so that the test can inject axe-core; the pages' own scripts need no exception.
    const context = await chromium.newContext({ bypassCSP: true, ...options });
    contexts.push(context);
    return context.newPage();
  }

  /** QR login on the login page with `phone`; resolves on the logged-in page. */
  async function logIn(page: Page, phone: Phone, pin = '1234') {
    await page.goto(`${e.url}/login/default`);
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    await phone.answer(await readQr(page, '#qr'), 'approve', pin);
    await page.waitForURL('**/login/default/done**');
    await page.waitForSelector('#who[data-userid]');
  }

  async function seriousViolations(page: Page): Promise<string[]> {
    await page.addScriptTag({ path: axeSource });
    const violations = await page.evaluate(async () => {
      type V = { id: string; impact: string | null; nodes: { target: string[] }[] };
      const axe = (window as unknown as { axe: { run(): Promise<{ violations: V[] }> } }).axe;
      return (await axe.run()).violations;
    });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  const sessionState = (page: Page) =>
    page.evaluate(async () => {
      const res = await fetch('/ns/servers/default/session');
      return res.ok ? ((await res.json()) as { state: string }).state : `http ${res.status}`;
    });
  const rows = (page: Page) => page.locator('#device-list li.device');

  let devices: Page;
  let second: Phone;

  it('a browser that is not logged in is asked to log in', async () => {
    const page = await newPage();
    await page.goto(`${e.url}/devices/default`);
    await page.waitForSelector('#login-needed:not([hidden])');
    expect(await page.getAttribute('#login-needed a', 'href')).to.equal('/login/default?ui_locales=en');
    expect(await seriousViolations(page)).to.deep.equal([]);
  });

  it('after a QR login the logged-in page links to the devices page, which lists this phone', async () => {
    devices = await newPage();
    await logIn(devices, alice);
    await devices.click('#manage-devices');
    await devices.waitForURL('**/devices/default**');
    await devices.waitForSelector('#device-list li.device');
    expect(await rows(devices).count()).to.equal(1);
    expect(await devices.textContent('#who')).to.equal('Logged in as alice.');
    expect(await rows(devices).first().locator('.badge.current').isVisible()).to.equal(true);
    expect(await rows(devices).first().locator('.device-name').textContent()).to.equal('OIDC test phone');
    expect(await seriousViolations(devices)).to.deep.equal([]);
  });

  it('adds another device from the page’s enrol QR (with the server’s visual hash)', async () => {
    await devices.click('#add-device');
    await devices.waitForSelector('#enrol-qr[src^="data:image/svg+xml"]');
    expect(await devices.textContent('#enrol-hash')).to.match(/\(.+, .+, .+, .+\)/);
    expect(await seriousViolations(devices)).to.deep.equal([]);
    second = await Phone.open(e.url);
    const uri = await readQr(devices, '#enrol-qr');
    expect(uri).to.match(/^nextauth:\/\/enrol\?d=/);
    await driveFlow(second.sdk.startEnrol(uri), {
      confirm: async () => 'approve',
      newPin: async () => '5678',
      pin: async () => '5678',
    });
    await devices.click('#enrol-done');
    await devices.waitForFunction(() => document.querySelectorAll('#device-list li.device').length === 2);
  });

  it('renames the second phone', async () => {
    const row = rows(devices).nth(1);
    await row.locator('.rename').click();
    await row.locator('.rename-input').fill('  Spare phone ');
    await row.locator('button[type=submit]').click();
    await devices.waitForFunction(
      () => document.querySelectorAll('#device-list .device-name')[1]?.textContent === 'Spare phone',
    );
    expect(await devices.textContent('#status')).to.equal('The name was saved.');
  });

  it('removing the lost phone ends its logged-in session at once and refuses its next login', async () => {
    // The spare phone is logged in in another browser.
    const elsewhere = await newPage();
    await logIn(elsewhere, second, '5678');
    expect(await sessionState(elsewhere)).to.equal('loggedin');

    const row = rows(devices).nth(1);
    await row.locator('.remove').click();
    await devices.waitForSelector('#confirm-remove[open]');
    expect(await devices.textContent('#confirm-text')).to.contain('Spare phone');
    expect(await devices.isVisible('#confirm-current')).to.equal(false);
    expect(await seriousViolations(devices)).to.deep.equal([]);
    await devices.click('#confirm-yes');
    await devices.waitForFunction(() => document.querySelectorAll('#device-list li.device').length === 1);
    expect(await devices.textContent('#status')).to.equal('Spare phone was removed.');

    expect(await sessionState(elsewhere)).to.equal('loggedout');
    const retry = await newPage();
    await retry.goto(`${e.url}/login/default`);
    await retry.waitForSelector('#qr[src^="data:image/svg+xml"]');
    let refused: unknown;
    try {
      await second.answer(await readQr(retry, '#qr'), 'approve', '5678');
    } catch (err) {
      refused = err;
    }
    expect(refused, 'the removed phone cannot log in').to.be.instanceOf(Error);
    // Refused at the channel handshake: NS no longer knows the account key (no PIN was asked).
    expect(String(refused)).to.contain('bad_client_key');
    expect(await retry.getAttribute('#status', 'data-state')).to.be.oneOf(['waiting', 'scanned']);
  });

  it('makes recovery codes (shown once); one of them recovers alice on the public page', async () => {
    await devices.waitForSelector('#codes:not([hidden])');
    await devices.click('#codes-generate');
    await devices.waitForSelector('#codes-shown:not([hidden])');
    const codes = await devices.locator('#codes-list li').allTextContents();
    expect(codes).to.have.length(10);
    expect(await devices.textContent('#codes-left')).to.equal('Unused codes: 10.');

    const page = await newPage();
    await page.goto(`${e.url}/login/default`);
    await page.waitForSelector('#recover-link:not([hidden])');
    await page.click('#recover-link a');
    await page.waitForURL('**/recover/default**');
    expect(await seriousViolations(page)).to.deep.equal([]);
    await page.fill('#userid', 'alice');
    await page.fill('#code', 'WRONG-CODE0');
    await page.click('#recover-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('recover-error')?.textContent !== '');
    expect(await page.textContent('#recover-error')).to.equal(
      'That code is not right, or it was used already.',
    );
    expect(await seriousViolations(page)).to.deep.equal([]);
    await page.fill('#code', codes[3] ?? '');
    await page.click('#recover-form button[type=submit]');
    await page.waitForSelector('#enrol-qr[src^="data:image/svg+xml"]');
    expect(await seriousViolations(page)).to.deep.equal([]);
    const replacement = await Phone.open(e.url);
    await driveFlow(replacement.sdk.startEnrol(await readQr(page, '#enrol-qr')), {
      confirm: async () => 'approve',
      newPin: async () => '2468',
      pin: async () => '2468',
    });
    await devices.reload();
    await devices.waitForFunction(() => document.querySelectorAll('#device-list li.device').length === 2);
    expect(await devices.textContent('#codes-left')).to.equal('Unused codes: 9.');
  });

  it('with the policy off the recovery page says so and the login page offers no link', async () => {
    await patchServer({ recoveryCodes: false });
    try {
      const page = await newPage();
      await page.goto(`${e.url}/recover/default?ui_locales=nl`);
      await page.waitForSelector('#recover-off:not([hidden])');
      expect(await seriousViolations(page)).to.deep.equal([]);
      const login = await newPage();
      await login.goto(`${e.url}/login/default`);
      await login.waitForSelector('#qr[src^="data:image/svg+xml"]');
      expect(await login.isHidden('#recover-link')).to.equal(true);
    } finally {
      await patchServer({ recoveryCodes: true });
    }
  });

  it('the login page takes the server’s accent (light and dark) and https app link', async () => {
    await patchServer({
      accentLight: '#0b5d1e',
      accentDark: '#7ee0a0',
      appLink: 'https://app.example.com/l',
    });
    for (const [scheme, colour] of [
      ['light', '#0b5d1e'],
      ['dark', '#7ee0a0'],
    ] as const) {
      const page = await newPage({
        colorScheme: scheme,
        userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148',
        viewport: { width: 390, height: 844 },
        isMobile: true,
      });
      await page.goto(`${e.url}/login/default`);
      await page.waitForSelector('#open-app-block:not([hidden])');
      const accent = await page.evaluate(() =>
        getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
      );
      expect(accent).to.equal(colour);
      expect(await page.getAttribute('#open-app', 'href')).to.match(/^https:\/\/app\.example\.com\/l\?d=/);
      expect(await page.getAttribute('#open-app-fallback', 'href')).to.match(/^nextauth:\/\/login\?d=/);
      expect(await seriousViolations(page)).to.deep.equal([]);
    }
  });

  it('removing the phone this browser logged in with logs the browser out', async () => {
    await devices.reload();
    await devices.waitForSelector('#device-list li.device');
    const current = devices.locator('#device-list li.device:has(.badge.current:not([hidden]))');
    await current.locator('.remove').click();
    await devices.waitForSelector('#confirm-current:not([hidden])');
    await devices.click('#confirm-yes');
    await devices.waitForURL('**/login/default**');
    let refused: unknown;
    await devices.waitForSelector('#qr[src^="data:image/svg+xml"]');
    try {
      await alice.answer(await readQr(devices, '#qr'));
    } catch (err) {
      refused = err;
    }
    expect(String(refused)).to.contain('bad_client_key');
  });
});
