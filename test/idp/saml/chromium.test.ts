// The SAML login in headless Chromium: node-saml's AuthnRequest URL opens the QR login page, the QR is read
// from a screenshot, the phone approves, the page's own script completes the login, and the auto-posting
// form (our script, under its CSP) delivers the Response to the SP's ACS, which node-saml validates; the
// logout walks the SPs with the same script; Back from an SP that never answers shows the logged-out page.
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

  it('logout at the IdP walks the SPs with our scripts under the CSP; after a silent SP, Back shows logged out', async () => {
    const logoutUrl = `${e.url}/saml/default/slo`;
    const sloA = 'http://127.0.0.1:9/chromium-a/slo';
    const sloB = 'http://127.0.0.1:9/chromium-b/slo';
    const a = await createSp(e, 'https://chromium-a.example/sp', { logoutUrl, logoutCallbackUrl: sloA });
    const b = await createSp(e, 'https://chromium-b.example/sp', { logoutUrl, logoutCallbackUrl: sloB });
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
    const page = await chromium.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.route(`${acsUrl}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'SP ACS' }),
    );
    // A answers its LogoutRequest (HTTP-Redirect) with a LogoutResponse; B (HTTP-POST) never answers.
    const heard: string[] = [];
    await page.route(`${sloA}**`, async (route) => {
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
    await page.route(`${sloB}**`, async (route) => {
      const form = new URLSearchParams(route.request().postData() ?? '');
      await b.saml.validatePostRequestAsync({ SAMLRequest: form.get('SAMLRequest') ?? '' });
      heard.push('b');
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'SP B, silent' });
    });
    await page.goto(await redirectRequest(a));
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    await alice.answer(await readQr(page, '#qr'));
    await page.waitForURL(`${acsUrl}**`);
    await page.goto(await redirectRequest(b));
    await page.waitForURL(`${acsUrl}**`);
    await page.goto(`${e.url}/logout`);
    await page.click('#logout');
    await page.waitForURL(`${sloB}**`);
    expect(heard).to.deep.equal(['a', 'b']);
    // B is silent. Chromium's Back button skips history entries of pages that navigated on without a user
    // gesture (our hop pages), so it lands on the page before the logout: the IdP's logged-out page. The
    // user is logged out at the IdP; B's request stays awaited until the chain expires (docs/saml.md).
    await page.goBack();
    await page.waitForSelector('#loggedout');
    const [chain] = ((await e.runtime.dbs.idp?.('idp_saml_logouts')) ?? []) as {
      state: string;
      awaiting_request_id: string | null;
    }[];
    expect(JSON.parse(chain?.state ?? '{}').outcomes).to.deep.equal([
      { spEntityId: a.entityId, outcome: 'success' },
    ]);
    expect(chain?.awaiting_request_id).to.be.a('string');
    expect(violations).to.deep.equal([]);
    await page.close();
  });
});
