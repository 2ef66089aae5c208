// A NameID format set per SP (`nameIdFormat` in the IdP API, `--nameid-format` in the CLI): it overrides the
// SP's metadata, requests without a format or with `unspecified` get it, and a request for any other format gets
// InvalidNameIDPolicy — as does `email` for a user without an address, and a format we do not support at all.
// Bad settings are refused with nothing stored; `null` goes back to the request's or the metadata's format.
import { SAML, type SamlConfig } from '@node-saml/node-saml';
import { expect } from 'chai';
import { Browser, type Embedded, Phone, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { acsUrl, createSp, registerSp, type TestSp, toAcs } from './harness.js';

const formats = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

const xmlOf = (response: string) => Buffer.from(response, 'base64').toString('utf8');
const statusOf = (response: string) =>
  [...xmlOf(response).matchAll(/<samlp:StatusCode Value="([^"]+)"/g)].map((m) => m[1] ?? '');
const nameIdOf = (response: string) => {
  const m = /<saml:NameID Format="([^"]+)"[^>]*>([^<]*)</.exec(xmlOf(response));
  return m ? { format: m[1], value: m[2] } : undefined;
};

describe('idp/saml NameID format per SP', function () {
  this.timeout(90_000);
  let e: Embedded;
  let phone: Phone;
  let sp: TestSp;
  const spPath = () => `${e.url}/idp/api/v1/servers/default/saml/sps/${encodeURIComponent(sp.entityId)}`;
  const patch = (body: unknown) =>
    fetch(spPath(), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify(body),
    });
  const row = async () =>
    JSON.stringify(await e.runtime.dbs.idp?.('idp_saml_sps').where({ entity_id: sp.entityId }).first());
  /** The Response to an AuthnRequest of `sp` asking for `format` (null: no NameIDPolicy). */
  const respond = async (b: Browser, format: string | null, who = phone) => {
    const saml = new SAML({ ...sp.saml.options, identifierFormat: format } as SamlConfig);
    const form = await toAcs(b, await b.fetch(await saml.getAuthorizeUrlAsync('', undefined, {})), who);
    expect(form.action).to.equal(acsUrl);
    return form.fields.SAMLResponse ?? '';
  };

  before(async () => {
    e = await startEmbedded();
    phone = await Phone.open(e.url);
    await phone.enrol(e.url, 'nina');
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/users/nina`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ email: 'nina@example.com' }),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
    // The metadata asks for persistent NameIDs (node-saml writes its identifierFormat into it).
    sp = await createSp(e, 'https://nameid.example/sp');
    expect(sp.metadata).to.contain(formats.persistent);
    await registerSp(e, sp);
  });
  after(async () => {
    await e?.close();
  });

  it('without a setting the metadata decides; a set format overrides it for requests without one and `unspecified`', async () => {
    const b = new Browser(e.url);
    expect(nameIdOf(await respond(b, null))?.format).to.equal(formats.persistent);
    const res = await patch({ nameIdFormat: 'email' });
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(((await res.json()) as { nameIdFormat: string }).nameIdFormat).to.equal('email');
    expect(nameIdOf(await respond(b, null))).to.deep.equal({
      format: formats.email,
      value: 'nina@example.com',
    });
    expect(nameIdOf(await respond(b, formats.unspecified))).to.deep.equal({
      format: formats.email,
      value: 'nina@example.com',
    });
    expect(nameIdOf(await respond(b, formats.email))?.value).to.equal('nina@example.com');
    // The SP validates what it gets.
    const { profile } = await new SAML({
      ...sp.saml.options,
      identifierFormat: formats.email,
      validateInResponseTo: 'never',
    } as SamlConfig).validatePostResponseAsync({ SAMLResponse: await respond(b, formats.email) });
    expect(profile?.nameID).to.equal('nina@example.com');

    // IdP-initiated SSO uses it too.
    const first = await b.fetch(`/saml/default/init?sp=${encodeURIComponent(sp.entityId)}`);
    const form = await toAcs(b, first, phone);
    expect(nameIdOf(form.fields.SAMLResponse ?? '')?.format).to.equal(formats.email);

    const audit = await fetch(`${e.url}/ns/api/v2/audit?type=saml_sp.updated&limit=10`, {
      headers: { 'x-apikey': rootApiKey },
    });
    const events = ((await audit.json()) as { events: { details: Record<string, unknown> }[] }).events;
    expect(events[0]?.details).to.deep.include({ changed: ['nameIdFormat'], nameIdFormat: 'email' });
  });

  it('a request for another format than the set one gets InvalidNameIDPolicy and no session; so does an unknown format', async () => {
    expect((await patch({ nameIdFormat: 'transient' })).status).to.equal(200);
    const b = new Browser(e.url);
    for (const asked of [formats.persistent, formats.email, 'urn:example:nameid-format:custom']) {
      const response = await respond(b, asked);
      expect(statusOf(response), asked).to.deep.equal([
        'urn:oasis:names:tc:SAML:2.0:status:Requester',
        'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
      ]);
      expect(xmlOf(response)).to.not.contain('<saml:Assertion');
    }
    expect(b.cookies.filter((c) => c.name.startsWith('nextauth_idp_'))).to.deep.equal([]);
    expect(nameIdOf(await respond(b, formats.transient, phone))?.value).to.match(/^_[0-9a-f]{40}$/);
  });

  it('email for a user without an address: InvalidNameIDPolicy', async () => {
    const noMail = await Phone.open(e.url);
    await noMail.enrol(e.url, 'omar');
    expect((await patch({ nameIdFormat: 'email' })).status).to.equal(200);
    const response = await respond(new Browser(e.url), null, noMail);
    expect(statusOf(response)[1]).to.equal('urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy');
  });

  it('null goes back to the metadata; bad values are refused with nothing stored', async () => {
    expect((await patch({ nameIdFormat: 'unspecified' })).status).to.equal(200);
    const before = await row();
    for (const bad of ['emailAddress', formats.email, '', 'PERSISTENT', 7, ['email']]) {
      const res = await patch({ nameIdFormat: bad });
      expect(res.status, String(bad)).to.equal(400);
      expect(res.headers.get('content-type')).to.contain('application/problem+json');
    }
    expect(await row()).to.equal(before);
    const other = await createSp(e, 'https://nameid-bad.example/sp');
    const created = await fetch(`${e.url}/idp/api/v1/servers/default/saml/sps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ metadata: other.metadata, nameIdFormat: 'x509' }),
    });
    expect(created.status).to.equal(400);
    expect(await e.runtime.dbs.idp?.('idp_saml_sps').where({ entity_id: other.entityId })).to.deep.equal([]);

    const cleared = await patch({ nameIdFormat: null });
    expect(((await cleared.json()) as { nameIdFormat: unknown }).nameIdFormat).to.equal(null);
    const b = new Browser(e.url);
    expect(nameIdOf(await respond(b, null, phone))?.format).to.equal(formats.persistent);
    expect(nameIdOf(await respond(b, formats.transient))?.format).to.equal(formats.transient);
  });
});
