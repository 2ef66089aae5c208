// SAML SSO against a real SP (@node-saml/node-saml): SP-initiated over HTTP-Redirect and HTTP-POST (signed
// request, encrypted assertion), IdP-initiated, SSO from the IdP session, ForceAuthn, IsPassive, declines,
// RequestedAuthnContext — the phone is the real mobile SDK, as in the OIDC suites.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Browser, type Embedded, Phone, rootApiKey, startEmbedded } from '../oidc/harness.js';
import {
  acsUrl,
  createSp,
  postRequestFields,
  redirectRequest,
  registerSp,
  type TestSp,
  toAcs,
} from './harness.js';

const persistent = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const mobileTwoFactor = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract';

/** The top-level and second-level status codes of a (base64) Response. */
function statusOf(samlResponse: string): string[] {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  return [...xml.matchAll(/<samlp:StatusCode Value="([^"]+)"/g)].map((m) => m[1] ?? '');
}

describe('idp/saml SSO with @node-saml/node-saml as the SP', function () {
  this.timeout(60_000);
  let e: Embedded;
  let phone: Phone;
  let sp: TestSp;

  before(async () => {
    e = await startEmbedded();
    phone = await Phone.open(e.url);
    await phone.enrol(e.url, 'alice');
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/users/alice`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({
        name: 'Alice Example',
        email: 'alice@example.com',
        groups: ['staff', 'ops'],
        attributes: { department: 'R&D <lab>' },
      }),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
    sp = await createSp(e, 'https://sp.example/redirect');
    await registerSp(e, sp, {
      attributes: {
        mail: 'email',
        displayName: 'name',
        memberOf: 'groups',
        dept: 'attr:department',
        uid: 'userid',
      },
    });
  });
  after(async () => {
    await e?.close();
  });

  it('publishes the metadata: entity ID, both certificates, Redirect and POST SSO and SLO', async () => {
    const res = await fetch(`${e.url}/saml/default/metadata`);
    expect(res.headers.get('content-type')).to.contain('application/samlmetadata+xml');
    const xml = await res.text();
    expect(xml).to.contain(`entityID="${e.url}/saml/default/metadata"`);
    expect(xml).to.match(/KeyDescriptor use="signing"/);
    expect(xml).to.match(/KeyDescriptor use="encryption"/);
    for (const binding of ['HTTP-Redirect', 'HTTP-POST']) {
      expect(xml).to.contain(
        `SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${e.url}/saml/default/sso"`,
      );
      expect(xml).to.contain(
        `SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${e.url}/saml/default/slo"`,
      );
    }
    expect(xml).to.contain(persistent);
    expect((await fetch(`${e.url}/saml/nosuch/metadata`)).status).to.equal(404);
  });

  it('SP-initiated over HTTP-Redirect: QR login, signed Response and Assertion, mapped attributes, RelayState', async () => {
    const b = new Browser(e.url);
    const form = await toAcs(b, await b.fetch(await redirectRequest(sp, 'state-1')), phone);
    expect(form.action).to.equal(acsUrl);
    expect(form.fields.RelayState).to.equal('state-1');
    const { profile } = await sp.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameIDFormat).to.equal(persistent);
    expect(profile?.nameID).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(profile?.nameID).to.not.contain('alice');
    expect(profile?.mail).to.equal('alice@example.com');
    expect(profile?.displayName).to.equal('Alice Example');
    expect(profile?.memberOf).to.have.members(['staff', 'ops']);
    expect(profile?.dept).to.equal('R&D <lab>');
    expect(profile?.uid).to.equal('alice');
    const xml = Buffer.from(form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    expect(xml).to.contain(`<saml:AuthnContextClassRef>${mobileTwoFactor}</saml:AuthnContextClassRef>`);

    // SSO: the same browser gets the next Response from its IdP session, without the phone; same NameID.
    const again = await toAcs(b, await b.fetch(await redirectRequest(sp)));
    const second = await sp.saml.validatePostResponseAsync({ SAMLResponse: again.fields.SAMLResponse ?? '' });
    expect(second.profile?.nameID).to.equal(profile?.nameID);
    expect(again.fields.RelayState).to.equal(undefined);
  });

  it('xmlsec1 verifies the signatures of a Response with the key of the IdP metadata', async () => {
    const b = new Browser(e.url);
    const form = await toAcs(b, await b.fetch(await redirectRequest(sp)), phone);
    const dir = mkdtempSync(join(tmpdir(), 'nextauth-xmlsec-'));
    try {
      const metadata = await (await fetch(`${e.url}/saml/default/metadata`)).text();
      const cert =
        /<(?:\w+:)?KeyDescriptor use="signing">[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</.exec(
          metadata,
        )?.[1] ?? '';
      writeFileSync(
        join(dir, 'idp.pem'),
        `-----BEGIN CERTIFICATE-----\n${cert.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
      );
      writeFileSync(join(dir, 'response.xml'), Buffer.from(form.fields.SAMLResponse ?? '', 'base64'));
      // The Response's own signature (--id-attr names SAML's ID attribute for the reference).
      const out = execFileSync(
        'xmlsec1',
        [
          '--verify',
          '--pubkey-cert-pem',
          join(dir, 'idp.pem'),
          '--id-attr:ID',
          'urn:oasis:names:tc:SAML:2.0:protocol:Response',
          '--id-attr:ID',
          'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
          '--node-xpath',
          "/*[local-name()='Response']/*[local-name()='Signature']",
          join(dir, 'response.xml'),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(out).to.equal('');
      // And a tampered copy fails.
      const tampered = Buffer.from(form.fields.SAMLResponse ?? '', 'base64')
        .toString('utf8')
        .replace('alice@example.com', 'mallory@example.com');
      writeFileSync(join(dir, 'tampered.xml'), tampered);
      expect(() =>
        execFileSync(
          'xmlsec1',
          [
            '--verify',
            '--pubkey-cert-pem',
            join(dir, 'idp.pem'),
            '--id-attr:ID',
            'urn:oasis:names:tc:SAML:2.0:protocol:Response',
            '--id-attr:ID',
            'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
            '--node-xpath',
            "/*[local-name()='Response']/*[local-name()='Signature']",
            join(dir, 'tampered.xml'),
          ],
          { stdio: 'ignore' },
        ),
      ).to.throw();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SP-initiated over HTTP-POST with a signed AuthnRequest and an encrypted (AES-256-GCM) Assertion', async () => {
    const signed = await createSp(e, 'https://sp.example/post', {
      signRequests: true,
      authnRequestBinding: 'HTTP-POST',
      // saml-bindings §3.5.4: the POST binding carries the message base64 only (node-saml deflates by default).
      skipRequestCompression: true,
      // Registered with sign: 'response' — the Assertion inside the encryption is unsigned.
      wantAssertionsSigned: false,
    });
    // AuthnRequestsSigned="true": its unsigned requests would be refused (see rejections.test.ts).
    await registerSp(
      e,
      signed,
      { sign: 'response', encrypt: true },
      signed.metadata.replace('AuthnRequestsSigned="false"', 'AuthnRequestsSigned="true"'),
    );
    const b = new Browser(e.url);
    const fields = await postRequestFields(signed, 'post-state');
    const first = await b.fetch('/saml/default/sso', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const form = await toAcs(b, first, phone);
    const xml = Buffer.from(form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    expect(xml).to.contain('EncryptedAssertion');
    expect(xml).to.contain('http://www.w3.org/2009/xmlenc11#aes256-gcm');
    expect(xml).to.not.contain('rsa-1_5');
    expect(xml).to.not.contain('alice');
    const { profile } = await signed.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameIDFormat).to.equal(persistent);
    expect(form.fields.RelayState).to.equal('post-state');
  });

  it('persistent NameIDs are pairwise: another SP sees another value for the same user', async () => {
    const other = await createSp(e, 'https://other.example/sp');
    await registerSp(e, other);
    const b = new Browser(e.url);
    const one = await toAcs(b, await b.fetch(await redirectRequest(sp)), phone);
    const two = await toAcs(b, await b.fetch(await redirectRequest(other)));
    const a = await sp.saml.validatePostResponseAsync({ SAMLResponse: one.fields.SAMLResponse ?? '' });
    const c = await other.saml.validatePostResponseAsync({ SAMLResponse: two.fields.SAMLResponse ?? '' });
    expect(a.profile?.nameID).to.not.equal(c.profile?.nameID);
  });

  it('NameID formats: email, transient, unspecified', async () => {
    const formats = {
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress': (v: string) =>
        expect(v).to.equal('alice@example.com'),
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient': (v: string) =>
        expect(v).to.match(/^_[0-9a-f]{40}$/),
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified': (v: string) => expect(v).to.equal('alice'),
    };
    for (const [format, check] of Object.entries(formats)) {
      const s = await createSp(e, `https://fmt.example/${format.split(':').pop()}`, {
        identifierFormat: format,
      });
      await registerSp(e, s);
      const b = new Browser(e.url);
      const form = await toAcs(b, await b.fetch(await redirectRequest(s)), phone);
      const { profile } = await s.saml.validatePostResponseAsync({
        SAMLResponse: form.fields.SAMLResponse ?? '',
      });
      expect(profile?.nameIDFormat).to.equal(format);
      check(profile?.nameID ?? '');
    }
  });

  it('ForceAuthn asks for the phone again despite the IdP session', async () => {
    const forced = await createSp(e, 'https://force.example/sp', { forceAuthn: true });
    await registerSp(e, forced);
    const b = new Browser(e.url);
    await toAcs(b, await b.fetch(await redirectRequest(sp)), phone);
    const first = await b.fetch(await redirectRequest(forced));
    expect(first.status).to.equal(303);
    const page = await b.fetch(new URL(first.headers.get('location') ?? '', e.url).href);
    expect(await page.text()).to.contain('data-complete=');
  });

  it('IsPassive without an IdP session: NoPassive to the ACS; with one: the Response', async () => {
    const passive = await createSp(e, 'https://passive.example/sp', { passive: true });
    await registerSp(e, passive);
    const b = new Browser(e.url);
    const denied = await toAcs(b, await b.fetch(await redirectRequest(passive)));
    expect(denied.action).to.equal(acsUrl);
    expect(statusOf(denied.fields.SAMLResponse ?? '')).to.deep.equal([
      'urn:oasis:names:tc:SAML:2.0:status:Responder',
      'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
    ]);
    await toAcs(b, await b.fetch(await redirectRequest(sp)), phone);
    const ok = await toAcs(b, await b.fetch(await redirectRequest(passive)));
    const { profile } = await passive.saml.validatePostResponseAsync({
      SAMLResponse: ok.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameID).to.be.a('string');
  });

  it('a RequestedAuthnContext we cannot meet gets NoAuthnContext; MobileTwoFactorContract is met', async () => {
    const pwd = await createSp(e, 'https://pwd.example/sp', {
      authnContext: ['urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard'],
      racComparison: 'exact',
    });
    await registerSp(e, pwd);
    const b = new Browser(e.url);
    const first = await b.fetch(await redirectRequest(pwd));
    expect(first.status).to.equal(200);
    const form = await toAcs(b, first);
    expect(statusOf(form.fields.SAMLResponse ?? '')[1]).to.equal(
      'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
    );

    const mobile = await createSp(e, 'https://mobile.example/sp', {
      authnContext: [mobileTwoFactor],
      racComparison: 'exact',
    });
    await registerSp(e, mobile);
    const ok = await toAcs(b, await b.fetch(await redirectRequest(mobile)), phone);
    await mobile.saml.validatePostResponseAsync({ SAMLResponse: ok.fields.SAMLResponse ?? '' });
  });

  it('a login declined on the phone sends RequestDenied to the registered ACS', async () => {
    const b = new Browser(e.url);
    const form = await toAcs(b, await b.fetch(await redirectRequest(sp, 'declined')), phone, 'deny');
    expect(form.action).to.equal(acsUrl);
    expect(form.fields.RelayState).to.equal('declined');
    expect(statusOf(form.fields.SAMLResponse ?? '')).to.deep.equal([
      'urn:oasis:names:tc:SAML:2.0:status:Responder',
      'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
    ]);
    let error: unknown;
    await sp.saml
      .validatePostResponseAsync({ SAMLResponse: form.fields.SAMLResponse ?? '' })
      .catch((err: unknown) => {
        error = err;
      });
    expect(String(error)).to.contain('declined on the phone');
  });

  it('IdP-initiated: an unsolicited Response to the default ACS with the RelayState', async () => {
    const unsolicited = await createSp(e, 'https://idpinit.example/sp', {
      validateInResponseTo: 'ifPresent' as never,
    });
    await registerSp(e, unsolicited);
    const b = new Browser(e.url);
    const first = await b.fetch(
      `/saml/default/init?sp=${encodeURIComponent(unsolicited.entityId)}&RelayState=%2Fhome`,
    );
    const form = await toAcs(b, first, phone);
    expect(form.action).to.equal(acsUrl);
    expect(form.fields.RelayState).to.equal('/home');
    const xml = Buffer.from(form.fields.SAMLResponse ?? '', 'base64').toString('utf8');
    expect(xml).to.not.contain('InResponseTo');
    const { profile } = await unsolicited.saml.validatePostResponseAsync({
      SAMLResponse: form.fields.SAMLResponse ?? '',
    });
    expect(profile?.nameID).to.be.a('string');
    // An unknown SP is an error page, not a redirect.
    const unknown = await b.fetch('/saml/default/init?sp=https%3A%2F%2Fnobody.example');
    expect(unknown.status).to.equal(400);
    expect(await unknown.text()).to.contain('unknown_sp');
  });
});
