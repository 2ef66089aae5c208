// `/idp/api/v1/servers/{server}/saml/keys[/rotate]` end to end: the metadata before and after a rotation, a
// Response signed after the promotion verified by an SP that read the metadata before it (the overlap) and by
// one that pins only the new certificate, the NS audit event, and refusals as problem JSON with no key changed.
import { SAML } from '@node-saml/node-saml';
import { expect } from 'chai';
import { Browser, Phone } from '../oidc/harness.js';
import { acsUrl, createSp, redirectRequest, registerSp, toAcs } from '../saml/harness.js';
import { type ApiFixture, problem, startApiFixture } from './fixture.js';

const keysPath = '/servers/default/saml/keys';

interface KeyWire {
  kid: string;
  use: string;
  state: string;
  certificate: string;
  retiredAt: string | null;
}

/** The signing certificates of the IdP metadata, in order. */
const signingCerts = (xml: string) =>
  [...xml.matchAll(/<(?:\w+:)?KeyDescriptor use="signing">[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</g)].map(
    (m) => m[1] ?? '',
  );
const encryptionCerts = (xml: string) =>
  [
    ...xml.matchAll(/<(?:\w+:)?KeyDescriptor use="encryption">[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</g),
  ].map((m) => m[1] ?? '');
const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');

describe('idp/api: SAML key rotation', function () {
  this.timeout(90_000);
  let f: ApiFixture;
  let phone: Phone;
  const metadata = async () => (await fetch(`${f.e.url}/saml/default/metadata`)).text();
  const list = async () =>
    ((await (await f.call('GET', keysPath, f.keys.servers)).json()) as { keys: KeyWire[] }).keys;

  before(async () => {
    f = await startApiFixture();
    phone = await Phone.open(f.e.url);
    await phone.enrol(f.e.url, 'kim');
  });
  after(() => f?.close());

  it('publishes current and next; after a rotation the next key signs and SPs holding the old metadata verify', async () => {
    const before = await metadata();
    const keys = await list();
    const current = keys.find((k) => k.use === 'signing' && k.state === 'current');
    const next = keys.find((k) => k.use === 'signing' && k.state === 'next');
    if (!current || !next) throw new Error('keys missing');
    expect(signingCerts(before)).to.deep.equal([body(current.certificate), body(next.certificate)]);
    expect(encryptionCerts(before)).to.have.length(2);

    // An SP configured from the metadata before the rotation: it trusts every signing certificate listed.
    const sp = await createSp(f.e, 'https://rotation.example/sp', { idpCert: signingCerts(before) });
    await registerSp(f.e, sp);
    const browser = new Browser(f.e.url);
    const login = async (b: Browser, relying = sp) => {
      const form = await toAcs(b, await b.fetch(await redirectRequest(relying)), phone);
      expect(form.action).to.equal(acsUrl);
      return form.fields.SAMLResponse ?? '';
    };
    const signedBy = (response: string) =>
      /<ds:X509Certificate>([^<]+)</.exec(Buffer.from(response, 'base64').toString('utf8'))?.[1];
    const firstResponse = await login(browser);
    expect(signedBy(firstResponse)).to.equal(body(current.certificate));
    expect((await sp.saml.validatePostResponseAsync({ SAMLResponse: firstResponse })).profile).to.be.an(
      'object',
    );

    const res = await f.call('POST', `${keysPath}/rotate`, f.keys.servers, { use: 'signing' });
    expect(res.status, await res.clone().text()).to.equal(200);
    const rotated = ((await res.json()) as { keys: KeyWire[] }).keys;
    expect(rotated.find((k) => k.use === 'signing' && k.state === 'current')?.kid).to.equal(next.kid);
    expect(rotated.find((k) => k.use === 'signing' && k.state === 'retired')?.kid).to.equal(current.kid);
    const newNext = rotated.find((k) => k.use === 'signing' && k.state === 'next');
    if (!newNext) throw new Error('no new next key');
    // The encryption pair was not asked for.
    expect(rotated.filter((k) => k.use === 'encryption').map((k) => k.kid)).to.deep.equal(
      keys.filter((k) => k.use === 'encryption').map((k) => k.kid),
    );

    const after = await metadata();
    expect(signingCerts(after)).to.deep.equal([
      body(next.certificate),
      body(newNext.certificate),
      body(current.certificate),
    ]);
    // Signed after the promotion: by the key that was `next`, accepted by the SP with the old metadata…
    const second = await login(browser);
    expect(signedBy(second)).to.equal(body(next.certificate));
    expect((await sp.saml.validatePostResponseAsync({ SAMLResponse: second })).profile).to.be.an('object');
    // …and by one that pins only the new current certificate, but not by one pinning only the retired one.
    const pinned = (cert: string) =>
      new SAML({ ...sp.saml.options, idpCert: cert, validateInResponseTo: 'never' as never });
    const third = await login(browser);
    expect(
      (await pinned(body(next.certificate)).validatePostResponseAsync({ SAMLResponse: third })).profile,
    ).to.be.an('object');
    let refused: unknown;
    await pinned(body(current.certificate))
      .validatePostResponseAsync({ SAMLResponse: await login(browser) })
      .catch((err: unknown) => {
        refused = err;
      });
    expect(String(refused)).to.match(/signature/i);

    const audit = await f.audit('saml_keys.rotated');
    expect(audit[0]?.subject.id).to.equal('default');
    expect(audit[0]?.details).to.deep.equal({ uses: ['signing'] });
  });

  it('refuses bad input, missing or weak keys and other tenants with problem JSON; no key changes', async () => {
    const before = JSON.stringify(await list());
    const rotate = `${keysPath}/rotate`;
    await problem(await f.call('POST', rotate, f.keys.servers, { use: 'all' }), 400);
    await problem(await f.call('POST', rotate, f.keys.servers, { use: 'signing', extra: 1 }), 400);
    await problem(
      await f.call('POST', rotate, f.keys.servers, 'use=signing', { 'content-type': 'text/plain' }),
      415,
    );
    await problem(await f.call('POST', rotate, f.keys.servers, '{"use":'), 400);
    await problem(await f.call('POST', rotate, undefined, {}), 401);
    await problem(await f.call('POST', rotate, f.keys.users, {}), 403);
    await problem(await f.call('POST', rotate, f.keys.acme, {}), 404);
    await problem(await f.call('POST', '/servers/nope/saml/keys/rotate', f.keys.root, {}), 404);
    await problem(await f.call('GET', keysPath, f.keys.users), 403);
    expect(JSON.stringify(await list())).to.equal(before);
  });

  it('rotates both pairs by default; the tenant root key may', async () => {
    const before = await list();
    const res = await f.call('POST', `${keysPath}/rotate`, f.keys.tenantRoot, {});
    expect(res.status, await res.clone().text()).to.equal(200);
    const after = ((await res.json()) as { keys: KeyWire[] }).keys;
    for (const use of ['signing', 'encryption'])
      expect(after.find((k) => k.use === use && k.state === 'current')?.kid).to.equal(
        before.find((k) => k.use === use && k.state === 'next')?.kid,
      );
    expect(encryptionCerts(await metadata())).to.have.length(3);
    expect((await f.audit('saml_keys.rotated'))[0]?.details).to.deep.equal({
      uses: ['signing', 'encryption'],
    });
  });
});
