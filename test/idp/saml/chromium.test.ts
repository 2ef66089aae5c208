// The SAML login in headless Chromium: node-saml's AuthnRequest URL opens the QR login page, the QR is read
// from a screenshot, the phone approves, the page's own script completes the login, and the auto-posting
// form (our script, under its CSP) delivers the Response to the SP's ACS, which node-saml validates.
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
});
