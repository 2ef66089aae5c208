// The enrol page in headless Chromium against the embedded runtime: REST makes an enrol link with page:true,
// the page shows its QR and the server key's pictures, the real mobile SDK enrols from the QR read off the
// screenshot, and the page shows the success; expired, used, claimed and invalid links; the enrol block on
// the embed demo page; axe-core (en, nl; light, dark; phone) with screenshots kept as test artifacts.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { driveFlow } from '../../../mobile-sdk/core/flows/drive.js';
import { parseEnrolUri } from '../../../protocol/mobile/uris.js';
import { visualHash } from '../../../protocol/visual-hash.js';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { type Embedded, Phone, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { phoneContext } from './page-runtime.js';

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const screenshots = 'test-artifacts/screenshots';

interface Link {
  uri: string;
  page: { url: string; viewToken: string; expiresAt: string };
}

describe('idp/interaction: enrol page in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let e: Embedded;
  const contexts: BrowserContext[] = [];

  before(async function () {
    browser = await launchChromium(this);
    e = await startEmbedded();
    await mkdir(screenshots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await e?.close();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  const createLink = async (userid: string, extra: Record<string, unknown> = {}): Promise<Link> => {
    const res = await fetch(`${e.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ server: 'default', userid, page: true, ...extra }),
    });
    expect(res.status).to.equal(201);
    return (await res.json()) as Link;
  };

  async function open(
    url: string,
    options: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ page: Page; cspErrors: string[]; requests: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    const cspErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    page.on('request', (r) => requests.push(`${r.url()} ${r.headers().referer ?? ''}`));
    await page.goto(url);
    return { page, cspErrors, requests };
  }
  const state = (page: Page) => page.getAttribute('[data-part="status"]', 'data-state');

  it('QR + server key pictures → the real SDK enrols from the screenshot → success with the device', async () => {
    const link = await createLink('carol', { announceInfo: 'Carol Jansen' });
    const { page, cspErrors, requests } = await open(link.page.url);
    await page.waitForSelector('[data-part="qr"][src^="data:image/svg+xml"]');
    expect(await state(page)).to.equal('waiting');
    // The view token left the address bar; neither it nor the enrol token went into a URL or a Referer.
    expect(page.url()).to.equal(`${e.url}/enrol/default`);
    const enrolToken = parseEnrolUri(link.uri).t;
    for (const r of requests) expect(r).to.not.contain(link.page.viewToken).and.not.contain(enrolToken);
    // The pictures the app will show for this server's key.
    const fp = parseEnrolUri(link.uri).fp;
    const hash = visualHash(fp);
    expect(await page.$$eval('.vh-emoji', (els) => els.map((el) => el.textContent))).to.deep.equal(
      hash.emoji,
    );
    expect(await page.getAttribute('[data-part="visual-hash"]', 'aria-label')).to.equal(
      `Pictures of the server key: ${hash.words.join(', ')}`,
    );
    expect(await page.textContent('[data-part="announce"]')).to.equal('For: Carol Jansen');
    expect(await page.textContent('[data-part="countdown"]')).to.match(
      /^This code is valid for (9|10):\d\d$/,
    );
    // On a desktop there is nothing to open in an app.
    expect(await page.isVisible('[data-part="open-app-block"]')).to.equal(false);

    const uri = await readQr(page, '[data-part="qr"]');
    expect(uri).to.equal(link.uri);
    const phone = await Phone.open(e.url);
    await driveFlow(phone.sdk.startEnrol(uri), {
      confirm: async () => 'approve',
      newPin: async () => '1234',
      pin: async () => '1234',
    });
    await page.waitForSelector('[data-part="status"][data-state="enrolled"]');
    expect(await page.textContent('[data-part="device"]')).to.equal('Added: OIDC test phone');
    expect(await page.textContent('[data-part="status"]')).to.equal('Your phone has been added.');
    // Focus lands on the new state's heading.
    expect(await page.evaluate(() => document.activeElement?.tagName)).to.equal('H2');
    await page.screenshot({ path: `${screenshots}/enrol-enrolled-en-desktop.png`, fullPage: true });
    // A reload after the fact: the link is used.
    await page.reload();
    await page.waitForSelector(
      '[data-part="status"][data-state="invalid"], [data-part="status"][data-state="used"]',
    );
    expect(cspErrors).to.deep.equal([]);
  });

  it('expired: the page counts down to expired; an expired link opened later says so too', async () => {
    const link = await createLink('dave', { ttlSeconds: 30 });
    const context = await browser.newContext();
    contexts.push(context);
    await context.clock.install();
    const page = await context.newPage();
    await page.goto(link.page.url);
    await page.waitForSelector('[data-part="qr"][src^="data:image/"]');
    await page.clock.fastForward(31_000);
    await page.waitForSelector('[data-part="status"][data-state="expired"]');
    expect(await page.isVisible('[data-part="qr"]')).to.equal(false);
    expect(await page.textContent('[data-view="expired"] h2')).to.equal('This enrol link has expired');

    // The server's side of it: a link past its time is refused, and the page shows expired at once.
    const stale = await createLink('dave', { ttlSeconds: 30 });
    const db = e.runtime.dbs.ns;
    await db?.('ns_enrol_views').update({ expires_at: Date.now() - 1000 });
    await db?.('ns_enrol_tokens').update({ expires_at: Date.now() - 1000 });
    const { page: late } = await open(stale.page.url);
    await late.waitForSelector('[data-part="status"][data-state="expired"]');
  });

  it('used, claimed by another browser, and invalid links each have their state', async () => {
    const used = await createLink('erin');
    const phone = await Phone.open(e.url);
    await driveFlow(phone.sdk.startEnrol(used.uri), {
      confirm: async () => 'approve',
      newPin: async () => '1234',
      pin: async () => '1234',
    });
    const { page: p1 } = await open(used.page.url);
    await p1.waitForSelector('[data-part="status"][data-state="used"]');
    expect(await p1.textContent('[data-view="used"] h2')).to.equal('This enrol link has been used');

    const link = await createLink('frank');
    const { page: first } = await open(link.page.url);
    await first.waitForSelector('[data-part="qr"][src^="data:image/"]');
    const { page: second } = await open(link.page.url);
    await second.waitForSelector('[data-part="status"][data-state="claimed"]');
    expect(await second.isVisible('[data-part="qr"]')).to.equal(false);
    // The first browser keeps it, across a reload (the token waits in the tab's sessionStorage).
    await first.reload();
    await first.waitForSelector('[data-part="status"][data-state="waiting"]');

    const { page: bad } = await open(`${e.url}/enrol/default#t=${'A'.repeat(43)}`);
    await bad.waitForSelector('[data-part="status"][data-state="invalid"]');
    const { page: none } = await open(`${e.url}/enrol/default`);
    await none.waitForSelector('[data-part="status"][data-state="invalid"]');
  });

  it('in Dutch, and with "Add in the app" on a phone', async () => {
    const link = await createLink('gina');
    const { page } = await open(
      `${e.url}/enrol/default?ui_locales=nl#t=${link.page.viewToken}`,
      phoneContext,
    );
    await page.waitForSelector('[data-part="qr"][src^="data:image/"]');
    expect(await page.getAttribute('html', 'lang')).to.equal('nl');
    expect(await page.textContent('[data-view="waiting"] h2')).to.equal('Scan de code met de nextAuth-app');
    expect(await page.isVisible('[data-part="open-app"]')).to.equal(true);
    expect(await page.getAttribute('[data-part="open-app"]', 'href')).to.equal(link.uri);
  });

  it('the enrol block on the embed demo page renders the view from a view token and reports the enrolment', async () => {
    const link = await createLink('hugo');
    const { page, cspErrors } = await open(`${e.url}/login/default/embed-demo#t=${link.page.viewToken}`);
    await page.waitForSelector('#enrol-block [data-part="qr"][src^="data:image/"]');
    expect(await page.locator('#enrol-block [id]').count()).to.equal(0);
    const uri = await readQr(page, '#enrol-block [data-part="qr"]');
    const phone = await Phone.open(e.url);
    await driveFlow(phone.sdk.startEnrol(uri), {
      confirm: async () => 'approve',
      newPin: async () => '1234',
      pin: async () => '1234',
    });
    await page.waitForSelector('#events li[data-type="nextauth:enrolled"]');
    expect(await page.textContent('#events li[data-type="nextauth:enrolled"]')).to.contain('OIDC test phone');
    expect(await page.getAttribute('#enrol-block', 'data-nextauth-state')).to.equal('enrolled');
    expect(cspErrors).to.deep.equal([]);
  });

  describe('accessibility (axe-core: no serious or critical violations) and screenshots', () => {
    async function seriousViolations(page: Page): Promise<string[]> {
      await page.addScriptTag({ path: axeSource });
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: {
              run(): Promise<{
                violations: {
                  id: string;
                  impact: string | null;
                  help: string;
                  nodes: { target: string[] }[];
                }[];
              }>;
            };
          }
        ).axe;
        return (await axe.run()).violations;
      });
      return violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map(
          (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
    }

    for (const lang of ['en', 'nl'] as const)
      for (const scheme of ['light', 'dark'] as const)
        for (const size of ['desktop', 'phone'] as const)
          it(`${lang}, ${scheme}, ${size}: waiting and invalid`, async () => {
            const link = await createLink(`axe-${lang}-${scheme}-${size}`, { announceInfo: 'Axe Tester' });
            const options = {
              bypassCSP: true,
              colorScheme: scheme,
              ...(size === 'phone' ? phoneContext : { viewport: { width: 1280, height: 800 } }),
            };
            const { page } = await open(
              `${e.url}/enrol/default?ui_locales=${lang}#t=${link.page.viewToken}`,
              options,
            );
            await page.waitForSelector('[data-part="qr"][src^="data:image/"]');
            expect(await seriousViolations(page)).to.deep.equal([]);
            await page.screenshot({
              path: `${screenshots}/enrol-${lang}-${scheme}-${size}.png`,
              fullPage: true,
            });
            const { page: gone } = await open(`${e.url}/enrol/default?ui_locales=${lang}`, options);
            await gone.waitForSelector('[data-part="status"][data-state="invalid"]');
            expect(await seriousViolations(gone)).to.deep.equal([]);
          });
  });
});
