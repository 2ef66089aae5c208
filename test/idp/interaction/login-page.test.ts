// The login page in headless Chromium against an in-process embedded runtime: the QR, every state the phone
// can put the login in, the languages, the mobile "open in the app" button and the server's branding.
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseLoginUri } from '../../../protocol/mobile/uris.js';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { type PageRuntime, phoneContext as phone, startPageRuntime } from './page-runtime.js';

describe('idp/interaction: login page in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let r: PageRuntime;
  let url: string;
  const contexts: BrowserContext[] = [];

  before(async function () {
    browser = await launchChromium(this);
    r = await startPageRuntime();
    url = r.url;
  });

  after(async () => {
    await browser?.close();
    await r?.close();
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  /** A fresh browser profile (own cookies), collecting CSP complaints from the console. */
  async function open(
    path: string,
    options: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ page: Page; cspErrors: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${url}${path}`);
    return { page, cspErrors };
  }

  const activeId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? '');

  describe('the QR', () => {
    it('shows the QR without a click; the screenshot decodes to the login URI of this server', async () => {
      const { page, cspErrors } = await open('/login');
      expect(page.url()).to.equal(`${url}/login/default`);
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
      expect(cspErrors).to.deep.equal([]);
    });

    it('serves the page under a strict CSP: own scripts and styles only, no framing', async () => {
      const res = await fetch(`${url}/login/default`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).to.contain("script-src 'self'").and.contain("style-src 'self'");
      expect(csp).to.contain("frame-ancestors 'none'");
      const html = await res.text();
      // No inline script or style, and nothing from another origin.
      expect(html).to.not.match(/<script(?![^>]*\bsrc="\/static\/)/);
      expect(html).to.not.match(/<style|\sstyle="/);
      expect(html).to.not.match(/(?:src|href)="(?:https?:)?\/\//);
    });

    it('counts down to the next code', async () => {
      const { page } = await open('/login/default');
      await page.waitForFunction(() =>
        /^New code in \d+ s$/.test(document.getElementById('countdown')?.textContent ?? ''),
      );
    });

    it('resumes the same login on reload instead of starting another', async () => {
      const { page } = await open('/login/default');
      await page.waitForSelector('#qr[src^="data:image/"]');
      const before = await page.context().cookies();
      await page.reload();
      await page.waitForSelector('#qr[src^="data:image/"]');
      expect(await page.context().cookies()).to.deep.equal(before);
    });

    it('reports an error for an unknown virtual server and 404s a malformed name', async () => {
      const { page } = await open('/login/nosuchserver');
      await page.waitForSelector('#status[data-state="error"]');
      expect(await page.isVisible('#qr')).to.equal(false);
      expect(await page.isVisible('#h-error')).to.equal(true);
      expect(await page.isVisible('#restart')).to.equal(true);
      const bad = await page.goto(`${url}/login/Bad_Name!`);
      expect(bad?.status()).to.equal(404);
    });
  });

  describe('states the phone puts the login in', () => {
    it('scanned: asks to confirm on the phone and moves focus to that heading', async () => {
      const { page } = await open('/login/default');
      await r.scan(page);
      await page.waitForSelector('#status[data-state="scanned"]');
      expect(await page.isVisible('#h-scanned')).to.equal(true);
      expect(await page.isVisible('#qr')).to.equal(false);
      expect(await activeId(page)).to.equal('h-scanned');
    });

    it('logged in: goes on to the logged-in page, which names the user', async () => {
      const { page } = await open('/login/default');
      const id = await r.scan(page);
      await r.sessions.markLoggedIn(id, { userid: 'alice', accountId: 'acct-alice' });
      await page.waitForURL(`${url}/login/default/done?ui_locales=en`);
      await page.waitForSelector('#who[data-userid="alice"]');
      expect(await page.textContent('#who')).to.equal('Logged in as alice.');
    });

    it('declined: says so and offers to start again, with the focus on that button', async () => {
      const { page } = await open('/login/default');
      const id = await r.scan(page);
      await r.sessions.markDeclined(id, { reason: 'declined' });
      await page.waitForSelector('#status[data-state="declined"]');
      expect(await page.isVisible('#h-declined')).to.equal(true);
      expect(await page.textContent('#restart')).to.equal('Start again');
      expect(await activeId(page)).to.equal('restart');
    });

    it('"not me": its own state, and starting again gives a fresh code', async () => {
      const { page } = await open('/login/default');
      await page.waitForSelector('#qr[src^="data:image/"]');
      const first = await page.getAttribute('#qr', 'data-uri');
      const id = await r.scan(page);
      await r.sessions.markDeclined(id, { reason: 'not_me' });
      await page.waitForSelector('#status[data-state="notme"]');
      expect(await page.isVisible('#h-notme')).to.equal(true);
      expect(await page.isVisible('#h-declined')).to.equal(false);
      await page.keyboard.press('Enter'); // the focused "Start again"
      await page.waitForSelector('#status[data-state="waiting"]');
      await page.waitForSelector('#qr[src^="data:image/"]');
      expect(await page.getAttribute('#qr', 'data-uri')).to.not.equal(first);
      expect(await activeId(page)).to.equal('h-waiting');
    });

    it('locked: the phone locked after wrong PINs ends the login in its own state, not a plain decline', async () => {
      const { page } = await open('/login/default');
      const id = await r.scan(page);
      await r.sessions.markDeclined(id, { reason: 'locked' });
      await page.waitForSelector('#status[data-state="locked"]');
      expect(await page.isVisible('#h-locked')).to.equal(true);
      expect(await page.isVisible('#h-declined')).to.equal(false);
      expect(await page.textContent('#status')).to.match(/locked after too many wrong PINs/);
      expect(await activeId(page)).to.equal('restart');
    });

    it('expired: offers a new code, which starts a new login', async () => {
      const context = await browser.newContext();
      contexts.push(context);
      await context.clock.install();
      const page = await context.newPage();
      await page.goto(`${url}/login/default`);
      await page.waitForSelector('#qr[src^="data:image/"]');
      const cookie = (await context.cookies()).find((c) => c.name.startsWith('nextauth_ns_'))?.value;
      // Both ends move three minutes on: past the login's 120 s.
      r.clock.offsetMs += 180_000;
      try {
        await context.clock.fastForward('03:00');
        await page.waitForSelector('#status[data-state="expired"]');
        expect(await page.isVisible('#h-expired')).to.equal(true);
        expect(await page.textContent('#restart')).to.equal('New code');
        await page.click('#restart');
        await page.waitForSelector('#status[data-state="waiting"]');
        await page.waitForSelector('#qr[src^="data:image/"]');
        const renewed = (await context.cookies()).find((c) => c.name.startsWith('nextauth_ns_'))?.value;
        expect(renewed).to.be.a('string').and.not.equal(cookie);
      } finally {
        r.clock.offsetMs -= 180_000;
      }
    });
  });

  describe('languages', () => {
    it('renders in the language of ui_locales, texts of the script included', async () => {
      const { page } = await open('/login/default?ui_locales=nl');
      expect(await page.getAttribute('html', 'lang')).to.equal('nl');
      await page.waitForSelector('#status[data-state="waiting"]');
      expect(await page.textContent('#h-waiting')).to.equal('Scan de code');
      expect(await page.textContent('#status')).to.equal('Wachten op je telefoon.');
      await page.waitForFunction(() =>
        /^Nieuwe code over \d+ s$/.test(document.getElementById('countdown')?.textContent ?? ''),
      );
      const id = await r.scan(page);
      await r.sessions.markLoggedIn(id, { userid: 'bob', accountId: 'acct-bob' });
      await page.waitForURL(`${url}/login/default/done?ui_locales=nl`);
      await page.waitForSelector('#who[data-userid="bob"]');
      expect(await page.textContent('#who')).to.equal('Ingelogd als bob.');
    });

    it('else follows Accept-Language, else English', async () => {
      const fr = await open('/login/default', { locale: 'fr-BE' });
      expect(await fr.page.getAttribute('html', 'lang')).to.equal('fr');
      expect(await fr.page.textContent('#h-waiting')).to.equal('Scannez le code');
      const other = await open('/login/default', { locale: 'de-DE' });
      expect(await other.page.getAttribute('html', 'lang')).to.equal('en');
      // ui_locales wins over the browser, and its first supported tag counts.
      const both = await open('/login/default?ui_locales=de%20fr%20nl', { locale: 'nl-NL' });
      expect(await both.page.getAttribute('html', 'lang')).to.equal('fr');
    });

    it('keeps the language on the /login redirect and varies the answer by Accept-Language', async () => {
      const res = await fetch(`${url}/login?ui_locales=nl`, { redirect: 'manual' });
      expect(res.headers.get('location')).to.equal('/login/default?ui_locales=nl');
      const page = await fetch(`${url}/login/default`, { headers: { 'accept-language': 'nl;q=0.5, fr' } });
      expect(page.headers.get('vary')).to.contain('Accept-Language');
      expect(await page.text()).to.contain('<html lang="fr">');
    });
  });

  describe('phone browsers and branding', () => {
    it('on a phone: an "Open in the app" link carrying the same login URI as the QR', async () => {
      const { page } = await open('/login/default', phone);
      await page.waitForSelector('#open-app');
      const [href, uri] = await page.$eval('#open-app', (a) => [
        a.getAttribute('href'),
        document.getElementById('qr')?.getAttribute('data-uri'),
      ]);
      expect(href).to.match(/^nextauth:\/\/login\?d=/);
      expect(href).to.equal(uri);
      expect(await page.isVisible('#open-app-fallback')).to.equal(false);
    });

    it('on a desktop: no app button', async () => {
      const { page } = await open('/login/default');
      await page.waitForSelector('#qr[src^="data:image/"]');
      expect(await page.isVisible('#open-app')).to.equal(false);
    });

    it("shows the server's display name and data: logo", async () => {
      const db = r.runtime.dbs.ns;
      const png =
        'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=';
      await db?.('ns_virtual_servers').where({ name: 'default' }).update({ logo: png });
      try {
        const { page } = await open('/login/default');
        await page.waitForSelector('#brand-logo[src^="data:image/png"]');
        expect(await page.textContent('#server-name')).to.equal('nextAuth');
        expect(await page.getAttribute('#brand-logo', 'alt')).to.equal('');
      } finally {
        await db?.('ns_virtual_servers').where({ name: 'default' }).update({ logo: null });
      }
    });
  });

  it('the logged-in page says so when the browser is not logged in', async () => {
    const { page } = await open('/login/default/done');
    await page.waitForFunction(() => document.getElementById('who')?.textContent?.includes('not logged in'));
  });
});
