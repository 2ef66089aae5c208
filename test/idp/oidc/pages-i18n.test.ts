// The OIDC pages besides the login in Dutch and French: the consent page in the language of the authorization
// request's ui_locales (else Accept-Language), the logout confirmation in that of the end-session request's
// ui_locales, the logged-out page in the browser's; the element ids the tests and users rely on stay the same.
import { expect } from 'chai';
import type * as oidc from 'openid-client';
import {
  authorize,
  authRequest,
  Browser,
  confirmLogout,
  discover,
  type Embedded,
  logoutForm,
  Phone,
  qrLogin,
  redirectUri,
  startEmbedded,
} from './harness.js';

describe('idp/oidc: consent and logout pages in nl and fr', function () {
  this.timeout(60_000);
  let e: Embedded;
  let partner: oidc.Configuration;
  let webapp: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    const p = await e.addClient({
      clientId: 'partner',
      redirectUris: [redirectUri],
      name: 'Partner',
      thirdParty: true,
    });
    partner = await discover(e.issuer, 'partner', p.secret);
    const w = await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri], name: 'Web' });
    webapp = await discover(e.issuer, 'webapp', w.secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  /** The consent page's HTML for a fresh browser (alice logs in with her phone first). */
  const consentHtml = async (params: Record<string, string>, headers: Record<string, string> = {}) => {
    const b = new Browser(e.url);
    const request = await authRequest(partner, { scope: 'openid profile', ...params });
    const first = await b.navigate(request.url.href);
    const done = await qrLogin(b, alice, first.url);
    const location = ((await done.json()) as { location: string }).location;
    // The next hops carry the browser's language, as a browser would.
    let url = new URL(location, e.url).href;
    for (let hops = 0; hops < 10; hops++) {
      const res = await b.fetch(url, { headers });
      const next = res.headers.get('location');
      if (!next) return { html: await res.text(), res };
      url = new URL(next, url).href;
    }
    throw new Error('too many redirects');
  };

  it('consent in Dutch by ui_locales, with the same ids', async () => {
    const { html, res } = await consentHtml({ ui_locales: 'nl-BE fr' });
    expect(html).to.contain('<html lang="nl">');
    expect(html).to.contain('<title>Toegang toestaan — nextAuth</title>');
    expect(html).to.contain('Partner wil je login bij default gebruiken');
    expect(html).to.contain('Je bent ingelogd als alice.');
    const items = [...html.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1]);
    expect(items).to.have.members(['te weten wie je bent (je gebruikers-id)', 'je naam te zien']);
    expect(html).to.match(/<button id="approve"[^>]*>Toestaan<\/button>/);
    expect(html).to.match(/<button id="deny"[^>]*>Weigeren<\/button>/);
    expect(res.headers.get('vary')).to.contain('Accept-Language');
  });

  it('consent in French by Accept-Language when the request names no language', async () => {
    const { html } = await consentHtml({}, { 'accept-language': 'de;q=1, fr;q=0.8, nl;q=0.5' });
    expect(html).to.contain('<html lang="fr">');
    expect(html).to.contain('Partner souhaite utiliser votre connexion default');
    expect(html).to.match(/<button id="approve"[^>]*>Autoriser<\/button>/);
    expect(html).to.match(/<button id="deny"[^>]*>Refuser<\/button>/);
    expect(html).to.contain('voir votre nom');
  });

  it('logout confirmation in French by ui_locales; the logged-out page in Dutch by Accept-Language', async () => {
    const b = new Browser(e.url);
    const request = await authRequest(webapp, { scope: 'openid' });
    await authorize(b, request, alice);
    const url = new URL(webapp.serverMetadata().end_session_endpoint ?? '');
    url.searchParams.set('client_id', 'webapp');
    url.searchParams.set('ui_locales', 'fr');
    const page = await b.fetch(url.href);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.contain('<html lang="fr">');
    expect(html).to.contain('<main id="logout-page">');
    expect(html).to.contain('Voulez-vous vous déconnecter de default ?');
    expect(html).to.contain('<p id="logout-client">Vous quittez Web.</p>');
    expect(html).to.match(/<button id="logout"[^>]*>Oui, me déconnecter<\/button>/);
    expect(html).to.match(/<button id="logout-no"[^>]*>Non, rester connecté<\/button>/);

    const { action, xsrf } = logoutForm(html);
    const done = await confirmLogout(b, action, { xsrf, logout: 'yes' });
    expect(done.status).to.equal(303);
    const success = await b.fetch(done.headers.get('location') ?? '', {
      headers: { 'accept-language': 'nl-NL' },
    });
    const after = await success.text();
    expect(after).to.contain('<html lang="nl">');
    expect(after).to.contain('<main id="loggedout-page">');
    expect(after).to.contain('Je bent uitgelogd');
    expect(after).to.contain('Je kunt deze pagina sluiten.');
  });
});
