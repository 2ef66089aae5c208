// SP-initiated single logout with @node-saml/node-saml: a LogoutRequest over HTTP-Redirect for the browser's
// own session ends the IdP session (the next AuthnRequest needs the phone again) and gets a signed Success
// LogoutResponse; one that names another NameID gets UnknownPrincipal and changes nothing; replay and
// unsigned requests of a signing SP are refused with the error page.
import { inflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import { Browser, type Embedded, Phone, startEmbedded } from '../oidc/harness.js';
import { createSp, redirectRequest, registerSp, type TestSp, toAcs } from './harness.js';

const sloCallback = 'http://127.0.0.1:9/saml/slo';

describe('idp/saml SLO (SP-initiated) with @node-saml/node-saml as the SP', function () {
  this.timeout(60_000);
  let e: Embedded;
  let phone: Phone;
  let sp: TestSp;

  before(async () => {
    e = await startEmbedded();
    phone = await Phone.open(e.url);
    await phone.enrol(e.url, 'bob');
    sp = await createSp(e, 'https://slo.example/sp', {
      signRequests: true,
      logoutUrl: `${e.url}/saml/default/slo`,
      logoutCallbackUrl: sloCallback,
    });
    // Its SLO endpoint over HTTP-Redirect: node-saml checks a LogoutResponse's InResponseTo on that binding.
    await registerSp(
      e,
      sp,
      {},
      sp.metadata
        .replace('AuthnRequestsSigned="false"', 'AuthnRequestsSigned="true"')
        .replace(
          /(<SingleLogoutService Binding=")[^"]+/,
          '$1urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
        ),
    );
  });
  after(async () => {
    await e?.close();
  });

  const login = async (b: Browser) => {
    const form = await toAcs(b, await b.fetch(await redirectRequest(sp)), phone);
    const { profile } = await sp.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    if (!profile) throw new Error('no profile');
    return profile;
  };
  const responseXml = (url: URL) =>
    inflateRawSync(Buffer.from(url.searchParams.get('SAMLResponse') ?? '', 'base64')).toString('utf8');
  const sessions = async () =>
    Number((await e.runtime.dbs.idp?.('idp_sessions').whereNull('ended_at').count({ n: '*' }))?.[0]?.n ?? 0);

  it('ends the IdP session and answers Success to the SP’s SLO endpoint', async () => {
    const b = new Browser(e.url);
    const profile = await login(b);
    const logoutUrl = await sp.saml.getLogoutUrlAsync(profile, 'after-logout', {});
    const first = await b.fetch(logoutUrl);
    expect(first.status, await first.clone().text()).to.equal(303);
    const done = await b.fetch(new URL(first.headers.get('location') ?? '', e.url).href);
    expect(done.status).to.equal(303);
    const back = new URL(done.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).to.equal(sloCallback);
    expect(back.searchParams.get('RelayState')).to.equal('after-logout');
    expect(responseXml(back)).to.contain('urn:oasis:names:tc:SAML:2.0:status:Success');
    // node-saml checks the query signature with the IdP certificate and InResponseTo.
    const checked = await sp.saml.validateRedirectAsync(
      Object.fromEntries(back.searchParams),
      back.search.slice(1),
    );
    expect(checked.loggedOut).to.equal(true);
    // The IdP session is gone: the next AuthnRequest shows the QR login again.
    const again = await b.fetch(await redirectRequest(sp));
    expect(again.status).to.equal(303);
    const page = await b.fetch(new URL(again.headers.get('location') ?? '', e.url).href);
    expect(await page.text()).to.contain('data-complete=');
    // The same LogoutRequest again: replayed.
    const replay = await b.fetch(logoutUrl);
    expect(replay.status).to.equal(400);
    expect(await replay.text()).to.contain('data-error="replayed"');
  });

  it('a LogoutRequest naming another NameID gets UnknownPrincipal and changes nothing', async () => {
    const b = new Browser(e.url);
    const profile = await login(b);
    const before = await sessions();
    const logoutUrl = await sp.saml.getLogoutUrlAsync({ ...profile, nameID: 'someone-else' }, '', {});
    const first = await b.fetch(logoutUrl);
    expect(first.status).to.equal(303);
    const done = await b.fetch(new URL(first.headers.get('location') ?? '', e.url).href);
    const xml = responseXml(new URL(done.headers.get('location') ?? ''));
    expect(xml).to.not.contain('status:Success');
    expect(xml).to.contain('urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal');
    expect(await sessions()).to.equal(before);
    // Still logged in: the next AuthnRequest is answered without the phone.
    const sso = await toAcs(b, await b.fetch(await redirectRequest(sp)));
    expect(sso.fields.SAMLResponse).to.be.a('string');
  });

  it('an unsigned LogoutRequest from an SP that must sign is refused and changes nothing', async () => {
    const b = new Browser(e.url);
    const profile = await login(b);
    const before = await sessions();
    const signed = new URL(await sp.saml.getLogoutUrlAsync(profile, '', {}));
    signed.searchParams.delete('Signature');
    signed.searchParams.delete('SigAlg');
    const res = await b.fetch(signed.href);
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('data-error="bad_signature"');
    expect(await sessions()).to.equal(before);
    // A forged ticket to the second step is not accepted either.
    const forged = await b.fetch('/saml/default/slo/done?t=eyJ9.forged');
    expect(forged.status).to.equal(400);
    expect(await sessions()).to.equal(before);
  });
});
