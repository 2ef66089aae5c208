// One IdP session for OIDC and SAML: a browser that logged in at an OIDC client gets a SAML Response without
// the phone.
import { expect } from 'chai';
import {
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  startEmbedded,
} from '../oidc/harness.js';
import { createSp, redirectRequest, registerSp, type TestSp, toAcs } from './harness.js';

describe('idp/saml SSO across protocols (the shared IdP session)', function () {
  this.timeout(60_000);
  let e: Embedded;
  let phone: Phone;
  let sp: TestSp;

  before(async () => {
    e = await startEmbedded();
    phone = await Phone.open(e.url);
    await phone.enrol(e.url, 'carol');
    sp = await createSp(e, 'https://cross.example/sp', {
      identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    });
    await registerSp(e, sp);
  });
  after(async () => {
    await e?.close();
  });

  it('an OIDC login gives SAML SSO without the phone', async () => {
    const { secret } = await e.addClient({ clientId: 'cross', redirectUris: [redirectUri] });
    const config = await discover(e.issuer, 'cross', secret);
    const b = new Browser(e.url);
    const callback = await authorize(b, await authRequest(config), phone);
    expect(callback.searchParams.get('code')).to.be.a('string');
    const form = await toAcs(b, await b.fetch(await redirectRequest(sp)));
    const { profile } = await sp.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameID).to.equal('carol');
  });
});
