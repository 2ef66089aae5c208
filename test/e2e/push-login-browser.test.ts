// The login page's "Send a push to my phone" in Chromium with the real `nextauth-device`: a first login by QR
// makes the browser a returning user; after logout the page offers the push, shows the number, the phone
// approves with it and the page goes on to the logged-in page. A browser that never logged in gets no button.
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, readQr } from '../helpers/browser.js';
import { enrolPhone, newPhone, ok, type Phone } from '../helpers/device.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const rootKey = 'push-browser-e2e-root-key-0123456789';
const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's serious and critical violations (the login page's accessibility bar). */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axeSource });
  const violations = await page.evaluate(async () => {
    type Violation = { id: string; impact: string | null; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('e2e: "Send a push to my phone" on the login page (Chromium, nextauth-device)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let started: TestRuntime | undefined;
  let device: Phone;
  let url: string;
  const contexts: BrowserContext[] = [];
  /** The browser profile that logged in once (returning-user cookie). */
  let returning: BrowserContext;

  const phone = (...args: string[]) => device.run(...args);

  async function context(): Promise<BrowserContext> {
    const c = await browser.newContext();
    contexts.push(c);
    return c;
  }

  before(async function () {
    browser = await launchChromium(this);
    device = await newPhone();
    started = await startTestRuntime({
      services: ['sfs', 'mc', 'ns', 'idp'],
      env: { NEXTAUTH_NS_ROOT_API_KEY: rootKey },
    });
    ({ url } = started);
    // Its first MC session registers the app instance at the MC, so NS can reach it.
    await enrolPhone(device, { url, rootKey, userid: 'erin' });
  });

  after(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await browser?.close();
    await started?.close();
    await device?.remove();
  });

  async function logout(c: BrowserContext): Promise<void> {
    // The integrator's REST logout with the nonce of the browser's session cookie.
    const nonce = (await c.cookies()).find((k) => k.name === 'nextauth_ns_default')?.value ?? '';
    expect(nonce).to.not.equal('');
    const out = await fetch(`${url}/ns/api/v2/logout`, {
      method: 'POST',
      headers: { 'x-apikey': rootKey, 'x-nonce': nonce },
    });
    expect(out.status).to.equal(200);
  }

  it('after one QR login and a logout, the page pushes; approving with the shown number logs in', async () => {
    const c = await context();
    returning = c;
    const page = await c.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${url}/login/default`);
    await page.waitForSelector('#qr[src^="data:image/"]');
    // Not yet a returning user: no push offered.
    expect(await page.isVisible('#send-push')).to.equal(false);
    ok(await phone('login', await readQr(page, '#qr'), '--pin', '1234', '--approve'));
    await page.waitForURL(`${url}/login/default/done?ui_locales=en`);
    await page.waitForSelector('#who[data-userid="erin"]');

    await logout(c);

    await page.goto(`${url}/login/default`);
    await page.waitForSelector('#send-push', { state: 'visible' });
    // The QR stays: the push is one more way, not the only one.
    await page.waitForSelector('#qr[src^="data:image/"]');
    expect(await page.isVisible('#push-sent')).to.equal(false);
    await page.click('#send-push');
    await page.waitForSelector('#push-match:not(:empty)');
    const match = (await page.textContent('#push-match')) ?? '';
    expect(match).to.match(/^\d{2}$/);
    expect(await page.isVisible('#push-sent')).to.equal(true);
    expect(await page.isVisible('#qr')).to.equal(true);
    expect(await page.getAttribute('#status', 'data-push-error')).to.equal(null);
    // The strict CSP of the page holds: nothing inline was needed.
    expect(cspErrors).to.deep.equal([]);

    const requests = JSON.parse(ok(await phone('pending', '--json')).stdout) as { id: string }[];
    expect(requests).to.have.length(1);
    ok(await phone('approve', requests[0]?.id ?? '', '--match', match, '--pin', '1234'));
    await page.waitForURL(`${url}/login/default/done?ui_locales=en`);
    await page.waitForSelector('#who[data-userid="erin"]');
  });

  it('a browser that never logged in here gets no push button', async () => {
    const page = await (await context()).newPage();
    const answer = page.waitForResponse((r) => r.url().endsWith('/ns/servers/default/push'));
    await page.goto(`${url}/login/default`);
    await page.waitForSelector('#qr[src^="data:image/"]');
    expect(await (await answer).json()).to.deep.equal({ available: false });
    expect(await page.isVisible('#send-push')).to.equal(false);
    expect(await page.isHidden('#push')).to.equal(true);
  });

  it('a refused push (too many open requests: 429) is told in the status line; the QR stays', async () => {
    const policy = await fetch(`${url}/ns/api/v2/servers/default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({ policy: { maxOpenPushes: 1 } }),
    });
    expect(policy.status, await policy.clone().text()).to.equal(200);
    await logout(returning);
    // The same returning browser, in a profile where the test may inject axe-core (the CSP would refuse it).
    const c = await browser.newContext({ bypassCSP: true });
    contexts.push(c);
    await c.addCookies(await returning.cookies());
    const page = await c.newPage();
    await page.goto(`${url}/login/default`);
    await page.click('#send-push');
    await page.waitForSelector('#push-match:not(:empty)');
    expect(await seriousViolations(page)).to.deep.equal([]);
    // A reload resumes the same waiting session, whose one open request is the limit.
    await page.reload();
    await page.click('#send-push');
    await page.waitForSelector('#status[data-push-error="rate_limited"]');
    expect(await page.textContent('#status')).to.match(/Too many pushes\. Try again in \d+ s/);
    expect(await page.isVisible('#push-sent')).to.equal(false);
    expect(await page.isEnabled('#send-push')).to.equal(true);
    expect(await page.getAttribute('#status', 'data-state')).to.equal('waiting');
    expect(await page.isVisible('#qr')).to.equal(true);
    expect(await seriousViolations(page)).to.deep.equal([]);
  });

  it('the embeddable login block offers the same push to the returning browser; approving logs it in', async () => {
    const policy = await fetch(`${url}/ns/api/v2/servers/default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({ policy: { maxOpenPushes: 3 } }),
    });
    expect(policy.status, await policy.clone().text()).to.equal(200);
    for (const r of JSON.parse(ok(await phone('pending', '--json')).stdout) as { id: string }[])
      ok(await phone('deny', r.id));
    const c = await context();
    await c.addCookies(await returning.cookies());
    const page = await c.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${url}/login/default/embed-demo`);
    const block = '#login-block';
    await page.waitForSelector(`${block} [data-part="send-push"]`, { state: 'visible' });
    await page.click(`${block} [data-part="send-push"]`);
    await page.waitForSelector(`${block} [data-part="push-match"]:not(:empty)`);
    const match = (await page.textContent(`${block} [data-part="push-match"]`)) ?? '';
    expect(match).to.match(/^\d{2}$/);
    expect(await page.isVisible(`${block} img[data-part="qr"]`)).to.equal(true);
    const requests = JSON.parse(ok(await phone('pending', '--json')).stdout) as { id: string }[];
    expect(requests).to.have.length(1);
    ok(await phone('approve', requests[0]?.id ?? '', '--match', match, '--pin', '1234'));
    await page.waitForSelector(`${block}[data-nextauth-state="loggedin"]`);
    expect(cspErrors).to.deep.equal([]);
  });

  it('the block shows no push button to a browser that never logged in here', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${url}/login/default/embed-demo`);
    await page.waitForSelector('#login-block img[data-part="qr"][src^="data:image/"]');
    expect(await page.isHidden('#login-block [data-part="push"]')).to.equal(true);
  });
});
