// The SAML login in headless Chromium: node-saml's AuthnRequest URL opens the QR login page, the QR is read
// from a screenshot, the phone approves, the page's own script completes the login, and the auto-posting
// form (our script, under its CSP) delivers the Response to the SP's ACS, which node-saml validates; the
// logout walks the SPs with the same script, and gets past an SP that never answers: a hop page that gives up
// on it after a while, or Back to the IdP, whose logout page resumes the chain from its cookie.
import { expect } from 'chai';
import type { Browser as Chromium } from 'playwright-core';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { type Embedded, Phone, startEmbedded } from '../oidc/harness.js';
import { acsUrl, createSp, redirectRequest, registerSp, type TestSp } from './harness.js';

describe('idp/saml: login in Chromium', function () {
  this.timeout(90_000);
  let chromium: Chromium;
  let e: Embedded;
  let sp: TestSp;
  let alice: Phone;

  before(async function () {
    chromium = await launchChromium(this);
    e = await startEmbedded();
    sp = await createSp(e, 'https://chromium.example/sp');
    await registerSp(e, sp, { attributes: { uid: 'userid' } });
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(async () => {
    await chromium?.close();
    await e?.close();
  });

  it('scan, approve: the page posts a Response that node-saml accepts; the CSP holds', async () => {
    const page = await chromium.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    let deliver: (body: string) => void = () => {};
    const posted = new Promise<string>((resolve) => {
      deliver = resolve;
    });
    await page.route(`${acsUrl}**`, async (route) => {
      deliver(route.request().postData() ?? '');
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'SP ACS' });
    });
    await page.goto(await redirectRequest(sp, 'chromium-state'));
    expect(page.url()).to.match(/\/saml\/default\/login\//);
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    await alice.answer(await readQr(page, '#qr'));
    const form = new URLSearchParams(await posted);
    expect(form.get('RelayState')).to.equal('chromium-state');
    const { profile } = await sp.saml.validatePostResponseAsync({
      SAMLResponse: form.get('SAMLResponse') ?? '',
    });
    expect(profile?.uid).to.equal('alice');
    await page.waitForURL(`${acsUrl}**`);
    expect(violations).to.deep.equal([]);
    await page.close();
  });

  describe('logout chains that survive an SP that never answers', () => {
    const logoutUrl = () => `${e.url}/saml/default/slo`;
    const slo = (name: string) => `http://127.0.0.1:9/chromium-${name}/slo`;
    let a: TestSp;
    let b: TestSp;
    let c: TestSp;
    /** What B does with its LogoutRequest: hang (no answer to the browser at all) or show a page and stop. */
    let bMode: 'hang' | 'silent' = 'hang';

    before(async () => {
      a = await createSp(e, 'https://chromium-a.example/sp', {
        logoutUrl: logoutUrl(),
        logoutCallbackUrl: slo('a'),
      });
      b = await createSp(e, 'https://chromium-b.example/sp', {
        logoutUrl: logoutUrl(),
        logoutCallbackUrl: slo('b'),
      });
      c = await createSp(e, 'https://chromium-c.example/sp', {
        logoutUrl: logoutUrl(),
        logoutCallbackUrl: slo('c'),
      });
      // A's SingleLogoutService is HTTP-Redirect; B's and C's keep node-saml's HTTP-POST.
      await registerSp(
        e,
        a,
        {},
        a.metadata.replace(
          /(<SingleLogoutService Binding=")[^"]+/,
          '$1urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
        ),
      );
      await registerSp(e, b);
      await registerSp(e, c);
    });

    /** A page logged in at A (QR), B and C (SSO), whose SPs answer as set up; `heard` lists who got a request. */
    const loggedInEverywhere = async () => {
      const page = await chromium.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.route(`${acsUrl}**`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/plain', body: 'SP ACS' }),
      );
      const heard: string[] = [];
      await page.route(`${slo('a')}**`, async (route) => {
        const url = new URL(route.request().url());
        const { profile } = await a.saml.validateRedirectAsync(
          Object.fromEntries(url.searchParams),
          url.search.slice(1),
        );
        heard.push('a');
        if (!profile) throw new Error('no LogoutRequest');
        await route.fulfill({
          status: 302,
          headers: { location: await a.saml.getLogoutResponseUrlAsync(profile, '', {}, true) },
        });
      });
      await page.route(`${slo('b')}**`, async (route) => {
        const form = new URLSearchParams(route.request().postData() ?? '');
        await b.saml.validatePostRequestAsync({ SAMLRequest: form.get('SAMLRequest') ?? '' });
        heard.push(`b:${bMode}`);
        // 'hang': the request is never answered (the route is left pending until the page moves on).
        if (bMode === 'silent')
          await route.fulfill({ status: 200, contentType: 'text/plain', body: 'SP B, silent' });
      });
      await page.route(`${slo('c')}**`, async (route) => {
        const form = new URLSearchParams(route.request().postData() ?? '');
        const { profile } = await c.saml.validatePostRequestAsync({
          SAMLRequest: form.get('SAMLRequest') ?? '',
        });
        heard.push('c');
        if (!profile) throw new Error('no LogoutRequest');
        await route.fulfill({
          status: 302,
          headers: { location: await c.saml.getLogoutResponseUrlAsync(profile, '', {}, true) },
        });
      });
      await page.goto(await redirectRequest(a));
      await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
      await alice.answer(await readQr(page, '#qr'));
      await page.waitForURL(`${acsUrl}**`);
      for (const sp of [b, c]) {
        await page.goto(await redirectRequest(sp));
        await page.waitForURL(`${acsUrl}**`);
      }
      return { page, heard, violations };
    };
    const lastChain = async () => {
      const rows = ((await e.runtime.dbs.idp?.('idp_saml_logouts').orderBy('created_at', 'desc')) ?? []) as {
        state: string;
        awaiting_request_id: string | null;
      }[];
      const [row] = rows;
      return {
        ...(JSON.parse(row?.state ?? '{}') as { outcomes: unknown[]; done: boolean }),
        awaiting: row?.awaiting_request_id,
      };
    };
    const chainCookie = async (page: import('playwright-core').Page) =>
      (await page.context().cookies()).find((k) => k.name === 'nextauth_saml_slo');

    it('an SP that never answers the browser: the hop page gives up on it (unreached) and the chain goes on to the next SP', async () => {
      bMode = 'hang';
      const { page, heard, violations } = await loggedInEverywhere();
      await page.goto(`${e.url}/logout`);
      await page.click('#logout');
      // A answers, B hangs until the hop page's timer moves on (10 s), C answers, the logged-out page ends it.
      await page.waitForSelector('#loggedout', { timeout: 60_000 });
      expect(heard).to.deep.equal(['a', 'b:hang', 'c']);
      const chain = await lastChain();
      expect(chain.outcomes).to.deep.equal([
        { spEntityId: a.entityId, outcome: 'success' },
        { spEntityId: b.entityId, outcome: 'unreached' },
        { spEntityId: c.entityId, outcome: 'success' },
      ]);
      expect(chain.done).to.equal(true);
      expect(await chainCookie(page)).to.equal(undefined);
      expect(violations).to.deep.equal([]);
      await page.close();
    });

    it('an SP that shows a page and never sends the browser back: Back to the IdP resumes the chain from the cookie', async () => {
      bMode = 'silent';
      const { page, heard, violations } = await loggedInEverywhere();
      await page.goto(`${e.url}/logout`);
      await page.click('#logout');
      await page.waitForURL(`${slo('b')}**`);
      expect(heard).to.deep.equal(['a', 'b:silent']);
      const cookie = await chainCookie(page);
      expect(cookie?.httpOnly).to.equal(true);
      expect(cookie?.value).to.match(/^default\.[A-Za-z0-9_-]{32}$/);
      // Chromium's Back skips our hop pages (they navigated on without a user gesture) and lands on the page
      // before the logout, GET /logout: the chain cookie sends the browser on to C, then to the logged-out page.
      await page.goBack();
      await page.waitForSelector('#loggedout');
      expect(heard).to.deep.equal(['a', 'b:silent', 'c']);
      expect((await lastChain()).outcomes).to.deep.equal([
        { spEntityId: a.entityId, outcome: 'success' },
        { spEntityId: b.entityId, outcome: 'no_answer' },
        { spEntityId: c.entityId, outcome: 'success' },
      ]);
      expect(await chainCookie(page)).to.equal(undefined);
      // The chain is over: its cookie is gone and /logout stays on the logged-out page.
      await page.goto(`${e.url}/logout`);
      await page.waitForSelector('#loggedout');
      expect(heard).to.have.length(3);
      expect(violations).to.deep.equal([]);
      await page.close();
    });
  });
});
