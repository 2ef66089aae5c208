// Accessibility of the login pages: axe-core in Chromium on every state the page can be brought to, in English
// and Dutch, light and dark; and screenshots of the login page (en, nl; desktop and phone) kept as artifacts.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.js';
import { type PageRuntime, phoneContext, startPageRuntime } from './page-runtime.js';

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const screenshots = 'test-artifacts/screenshots';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

const sizes = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: phoneContext,
} as const;

describe('idp/interaction: login page accessibility (axe-core) and screenshots', function () {
  this.timeout(120_000);
  let browser: Browser;
  let r: PageRuntime;
  const contexts: BrowserContext[] = [];

  before(async function () {
    browser = await launchChromium(this);
    r = await startPageRuntime();
    await mkdir(screenshots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await r?.close();
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });

  async function open(path: string, options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
    // axe is injected by the test, which the page's CSP would (rightly) refuse.
    const context = await browser.newContext({ bypassCSP: true, ...options });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${r.url}${path}`);
    return page;
  }

  /** Serious and critical violations only: the bar the issue sets. */
  async function seriousViolations(page: Page): Promise<string[]> {
    await page.addScriptTag({ path: axeSource });
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
      return (await axe.run()).violations;
    });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  for (const lang of ['en', 'nl'] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      describe(`${lang}, ${scheme}`, () => {
        const options = { colorScheme: scheme } as const;

        it('waiting (QR)', async () => {
          const page = await open(`/login/default?ui_locales=${lang}`, options);
          await page.waitForSelector('#qr[src^="data:image/"]');
          expect(await seriousViolations(page)).to.deep.equal([]);
        });

        for (const [state, act] of [
          ['scanned', async (_id: string) => {}],
          ['declined', (id: string) => r.sessions.markDeclined(id, { reason: 'declined' })],
          ['notme', (id: string) => r.sessions.markDeclined(id, { reason: 'not_me' })],
          ['locked', (id: string) => r.sessions.markDeclined(id, { reason: 'locked' })],
        ] as const) {
          it(state, async () => {
            const page = await open(`/login/default?ui_locales=${lang}`, options);
            await act(await r.scan(page));
            await page.waitForSelector(`#status[data-state="${state}"]`);
            expect(await seriousViolations(page)).to.deep.equal([]);
          });
        }

        it('waiting on a phone (with Open in the app)', async () => {
          const page = await open(`/login/default?ui_locales=${lang}`, { ...phoneContext, ...options });
          await page.waitForSelector('#open-app');
          expect(await seriousViolations(page)).to.deep.equal([]);
        });

        it('expired', async () => {
          const context = await browser.newContext({ bypassCSP: true, ...options });
          contexts.push(context);
          await context.clock.install();
          const page = await context.newPage();
          await page.goto(`${r.url}/login/default?ui_locales=${lang}`);
          await page.waitForSelector('#qr[src^="data:image/"]');
          r.clock.offsetMs += 180_000;
          try {
            await context.clock.fastForward('03:00');
            await page.waitForSelector('#status[data-state="expired"]');
            expect(await seriousViolations(page)).to.deep.equal([]);
          } finally {
            r.clock.offsetMs -= 180_000;
          }
        });

        it('error (unknown server)', async () => {
          const page = await open(`/login/nosuchserver?ui_locales=${lang}`, options);
          await page.waitForSelector('#status[data-state="error"]');
          expect(await seriousViolations(page)).to.deep.equal([]);
        });

        it('logged in', async () => {
          const page = await open(`/login/default?ui_locales=${lang}`, options);
          await r.sessions.markLoggedIn(await r.scan(page), { userid: 'alice', accountId: 'acct-alice' });
          await page.waitForSelector('#who[data-userid]');
          expect(await page.getAttribute('html', 'lang')).to.equal(lang);
          expect(await seriousViolations(page)).to.deep.equal([]);
        });
      });
    }
  }

  it('writes screenshots of the login page: en and nl, desktop and phone, light (and phone dark)', async () => {
    const shots: [string, string, Parameters<Browser['newContext']>[0]][] = [];
    for (const lang of ['en', 'nl'])
      for (const [size, options] of Object.entries(sizes))
        shots.push([`login-${lang}-${size}.png`, lang, { ...options, colorScheme: 'light' }]);
    shots.push(['login-en-phone-dark.png', 'en', { ...sizes.phone, colorScheme: 'dark' }]);
    for (const [file, lang, options] of shots) {
      const page = await open(`/login/default?ui_locales=${lang}`, options);
      await page.waitForSelector('#qr[src^="data:image/"]');
      await page.waitForFunction(() => /\d/.test(document.getElementById('countdown')?.textContent ?? ''));
      const png = await page.screenshot({ path: `${screenshots}/${file}`, fullPage: true });
      expect(png.subarray(1, 4).toString('latin1')).to.equal('PNG');
    }
  });
});
