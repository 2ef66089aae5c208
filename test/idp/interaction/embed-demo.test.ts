// The embeddable login block and session footer in Chromium, on the demo host page: the block shows the QR
// and tells the host page how the login ended; the footer tells it when the session ends; axe-core on the page.
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseLoginUri } from '../../../protocol/mobile/uris.js';
import { launchChromium } from '../../helpers/browser.js';
import { type PageRuntime, startPageRuntime } from './page-runtime.js';

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const block = '#login-block';
const qr = `${block} img[data-part="qr"]`;

describe('idp/interaction: embeddable login block and session footer in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let r: PageRuntime;
  const contexts: BrowserContext[] = [];

  before(async function () {
    browser = await launchChromium(this);
    r = await startPageRuntime();
  });

  after(async () => {
    await browser?.close();
    await r?.close();
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  /** The demo page in a fresh profile with a clock the test moves, collecting CSP complaints. */
  async function openDemo(
    path = '/login/default/embed-demo',
    options: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ page: Page; context: BrowserContext; cspErrors: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    await context.clock.install();
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${r.url}${path}`);
    return { page, context, cspErrors };
  }

  /** The phone redeems the code the block shows. */
  async function scan(page: Page): Promise<string> {
    await page.waitForSelector(`${qr}[src^="data:image/"]`);
    const uri = (await page.getAttribute(qr, 'data-uri')) ?? '';
    return (await r.sessions.redeemLoginCode(parseLoginUri(uri).c)).id;
  }

  const events = (page: Page) => page.$$eval('#events li', (items) => items.map((li) => li.dataset.type));

  it('serves the demo page under the strict CSP: no inline script or style, nothing from elsewhere', async () => {
    const res = await fetch(`${r.url}/login/default/embed-demo`);
    expect(res.status).to.equal(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.contain("script-src 'self'").and.contain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).to.not.match(/<script(?![^>]*\bsrc="\/static\/)/);
    expect(html).to.not.match(/<style|\sstyle="/);
    expect(html).to.not.match(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).to.contain('data-nextauth-login').and.contain('data-nextauth-session');
  });

  it('the block shows a QR of this server; the footer says the browser is not logged in', async () => {
    const { page, cspErrors } = await openDemo();
    await page.waitForSelector(`${qr}[src^="data:image/svg+xml"]`);
    const uri = (await page.getAttribute(qr, 'data-uri')) ?? '';
    expect(parseLoginUri(uri)).to.include({ v: 1, ns: r.url, s: 'default' });
    expect(await page.getAttribute(`${block} [data-part="status"]`, 'data-state')).to.equal('waiting');
    await page.waitForSelector('#session-footer[data-nextauth-state="loggedout"]');
    expect(await page.textContent('#session-footer')).to.equal('This browser is not logged in.');
    // The block's markup brings no ids that could clash with the host page's.
    expect(await page.$$eval(`${block} [id]`, (found) => found.length)).to.equal(0);
    expect(await events(page)).to.deep.equal([]);
    expect(cspErrors).to.deep.equal([]);
  });

  it('phone logs in: the host page gets nextauth:loggedin; a logout elsewhere makes the footer emit nextauth:loggedout', async () => {
    const { page, context } = await openDemo();
    const id = await scan(page);
    await r.sessions.markLoggedIn(id, { userid: 'alice', accountId: 'acct-alice' });
    await page.waitForSelector('#events li[data-type="nextauth:loggedin"][data-userid="alice"]');
    expect(await page.getAttribute(block, 'data-nextauth-state')).to.equal('loggedin');
    // The footer re-checks on the block's event, without waiting for its next poll.
    await page.waitForSelector('#session-footer[data-nextauth-state="loggedin"]');
    expect(await page.textContent('#session-footer')).to.equal('Logged in as alice.');

    const nonce = (await context.cookies()).find((c) => c.name.startsWith('nextauth_ns_'))?.value ?? '';
    const ended = await r.sessions.logout(nonce);
    expect(ended.loggedin).to.equal(false);
    await context.clock.fastForward('00:20'); // past the footer's next poll
    await page.waitForSelector('#events li[data-type="nextauth:loggedout"][data-userid="alice"]');
    await page.waitForSelector('#session-footer[data-nextauth-state="loggedout"]');
    expect(await events(page)).to.deep.equal(['nextauth:loggedin', 'nextauth:loggedout']);
  });

  it('declined and "not me" reach the host page as nextauth:declined with the reason', async () => {
    for (const reason of ['declined', 'not_me'] as const) {
      const { page } = await openDemo();
      const id = await scan(page);
      await r.sessions.markDeclined(id, { reason });
      await page.waitForSelector('#events li[data-type="nextauth:declined"]');
      const text = await page.textContent('#events li');
      expect(text).to.contain(`"reason":"${reason}"`);
      // The block offers to start again, like the login page.
      expect(await page.isVisible(`${block} [data-part="restart"]`)).to.equal(true);
    }
  });

  it('an expired login reaches the host page as nextauth:expired', async () => {
    const { page, context } = await openDemo();
    await page.waitForSelector(`${qr}[src^="data:image/"]`);
    r.clock.offsetMs += 180_000;
    try {
      await context.clock.fastForward('03:00');
      await page.waitForSelector('#events li[data-type="nextauth:expired"]');
      expect(await page.getAttribute(block, 'data-nextauth-state')).to.equal('expired');
    } finally {
      r.clock.offsetMs -= 180_000;
    }
  });

  it('renders the block in the host page’s language', async () => {
    const { page } = await openDemo('/login/default/embed-demo?ui_locales=nl');
    await page.waitForSelector(`${block} [data-part="status"][data-state="waiting"]`);
    expect(await page.textContent(`${block} [data-view="waiting"] h2`)).to.equal('Scan de code');
  });

  it('the block markup: 404 for a malformed server name; an unknown server ends in the error state', async () => {
    expect((await fetch(`${r.url}/login/Bad_Name!/block`)).status).to.equal(404);
    expect((await fetch(`${r.url}/login/Bad_Name!/embed-demo`)).status).to.equal(404);
    const { page } = await openDemo('/login/nosuchserver/embed-demo');
    await page.waitForSelector('#events li[data-type="nextauth:error"]');
    expect(await page.isVisible(`${block} [data-view="error"]`)).to.equal(true);
  });

  it('axe-core: no serious violations on the demo page, waiting and logged in', async () => {
    const { page } = await openDemo('/login/default/embed-demo', { bypassCSP: true });
    const serious = async () => {
      await page.addScriptTag({ path: axeSource });
      const violations = await page.evaluate(async () => {
        type Violation = { id: string; impact: string | null; nodes: { target: string[] }[] };
        const axe = (window as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }).axe;
        return (await axe.run()).violations;
      });
      return violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    };
    await page.waitForSelector(`${qr}[src^="data:image/"]`);
    await page.waitForSelector('#session-footer[data-nextauth-state]');
    expect(await serious()).to.deep.equal([]);
    const id = await scan(page);
    await r.sessions.markLoggedIn(id, { userid: 'carol', accountId: 'acct-carol' });
    await page.waitForSelector('#session-footer[data-nextauth-state="loggedin"]');
    expect(await serious()).to.deep.equal([]);
  });
});
