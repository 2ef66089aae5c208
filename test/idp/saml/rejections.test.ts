// Requests that must not be trusted (DESIGN.md §5, §6): each gets the error page with a 4xx status — never a
// Response, never a redirect — and stores nothing (no waiting request, no used request ID, no IdP session).
// Signature wrapping variants (GHSA-63ch-w8pw-4mf2), replays (also raced), DTDs and entities, inflate bombs.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import { SignedXml } from 'xml-crypto';
import { Browser, type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { acsUrl, createSp, registerSp, type TestSp } from './harness.js';

const rsaSha256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

interface RequestFields {
  id?: string;
  issuer?: string;
  destination?: string | null;
  acs?: string;
  issueInstant?: string;
  /** Inserted after the Issuer. */
  inner?: string;
}

describe('idp/saml rejections: untrusted requests get an error page and change nothing', function () {
  this.timeout(60_000);
  let e: Embedded;
  let open: TestSp;
  let strict: TestSp;
  let sso: string;

  const request = (f: RequestFields = {}, sp: TestSp = open) => {
    const destination = f.destination === undefined ? sso : f.destination;
    return (
      `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.id ?? `_${randomBytes(16).toString('hex')}`}" Version="2.0" IssueInstant="${f.issueInstant ?? new Date().toISOString()}"` +
      `${destination !== null ? ` Destination="${destination}"` : ''} AssertionConsumerServiceURL="${f.acs ?? acsUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
      `<saml:Issuer>${f.issuer ?? sp.entityId}</saml:Issuer>${f.inner ?? ''}</samlp:AuthnRequest>`
    );
  };

  /** The HTTP-Redirect URL of `xml`, signed in the query with `key` when given. */
  const redirect = (xml: string, key?: string, tamper?: (q: string) => string) => {
    let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
    if (key) {
      query += `&SigAlg=${encodeURIComponent(rsaSha256)}`;
      const signature = sign('sha256', Buffer.from(query), createPrivateKey(key)).toString('base64');
      query = `${tamper ? tamper(query) : query}&Signature=${encodeURIComponent(signature)}`;
    }
    return `/saml/default/sso?${query}`;
  };

  /** `xml` with an enveloped signature over its root by `key`. */
  const signPost = (xml: string, key: string) => {
    const sig = new SignedXml({
      privateKey: key,
      signatureAlgorithm: rsaSha256,
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: "/*[local-name(.)='AuthnRequest']",
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: "/*[local-name(.)='AuthnRequest']/*[local-name(.)='Issuer']", action: 'after' },
    });
    return sig.getSignedXml();
  };

  const post = (b: Browser, xml: string | Buffer, extra: Record<string, string> = {}) =>
    b.fetch('/saml/default/sso', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLRequest: Buffer.from(xml).toString('base64'), ...extra }),
    });

  const counts = async () => {
    const db = e.runtime.dbs.idp;
    if (!db) throw new Error('no IdP database');
    const count = async (table: string) => Number((await db(table).count({ n: '*' }))[0]?.n ?? 0);
    return {
      pending: await count('idp_saml_pending'),
      requestIds: await count('idp_saml_request_ids'),
      sessions: await count('idp_sessions'),
    };
  };

  /** The answer is the error page with `status` and `code`, and nothing was stored. */
  const refused = async (
    res: Response,
    status: number,
    code: string,
    before: Awaited<ReturnType<typeof counts>>,
  ) => {
    const html = await res.text();
    expect(res.status, html).to.equal(status);
    expect(res.headers.get('location')).to.equal(null);
    expect(res.headers.get('content-type')).to.contain('text/html');
    expect(html).to.contain(`data-error="${code}"`);
    expect(html).to.not.contain('SAMLResponse');
    expect(await counts()).to.deep.equal(before);
  };

  before(async () => {
    e = await startEmbedded();
    sso = `${e.url}/saml/default/sso`;
    open = await createSp(e, 'https://open.example/sp');
    await registerSp(e, open);
    strict = await createSp(e, 'https://strict.example/sp', { signRequests: true });
    await registerSp(
      e,
      strict,
      {},
      strict.metadata.replace('AuthnRequestsSigned="false"', 'AuthnRequestsSigned="true"'),
    );
  });
  after(async () => {
    await e?.close();
  });

  it('accepts the well-formed requests these cases start from (baseline)', async () => {
    const b = new Browser(e.url);
    expect((await b.fetch(redirect(request()))).status).to.equal(303);
    expect((await b.fetch(redirect(request({}, strict), strict.signing.privateKeyPem))).status).to.equal(303);
    expect((await post(b, signPost(request({}, strict), strict.signing.privateKeyPem))).status).to.equal(303);
  });

  it('unknown SP (Issuer), unknown server', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    await refused(
      await b.fetch(redirect(request({ issuer: 'https://nobody.example' }))),
      400,
      'unknown_sp',
      before,
    );
    await refused(await b.fetch(redirect(request({ issuer: '' }))), 400, 'unknown_sp', before);
    const res = await b.fetch(redirect(request()).replace('/saml/default/', '/saml/nosuch/'));
    await refused(res, 404, 'unknown_server', before);
  });

  it('ACS URL not in the metadata, another binding, Destination of someone else, IssueInstant out of window', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    await refused(
      await b.fetch(redirect(request({ acs: 'https://evil.example/acs' }))),
      400,
      'unknown_acs',
      before,
    );
    const artifact = request().replace('bindings:HTTP-POST', 'bindings:HTTP-Artifact');
    await refused(await b.fetch(redirect(artifact)), 400, 'unsupported', before);
    await refused(
      await b.fetch(redirect(request({ destination: 'https://other-idp.example/sso' }))),
      400,
      'wrong_destination',
      before,
    );
    const old = new Date(Date.now() - 11 * 60_000).toISOString();
    await refused(await b.fetch(redirect(request({ issueInstant: old }))), 400, 'stale', before);
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    await refused(await b.fetch(redirect(request({ issueInstant: future }))), 400, 'stale', before);
  });

  it('an SP whose metadata says AuthnRequestsSigned="true": unsigned, wrongly signed and SHA-1 requests', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    await refused(await b.fetch(redirect(request({}, strict))), 400, 'bad_signature', before);
    await refused(await post(b, request({}, strict)), 400, 'bad_signature', before);
    // Signed by another key (the open SP's).
    await refused(
      await b.fetch(redirect(request({}, strict), open.signing.privateKeyPem)),
      400,
      'bad_signature',
      before,
    );
    await refused(
      await post(b, signPost(request({}, strict), open.signing.privateKeyPem)),
      400,
      'bad_signature',
      before,
    );
    // The query changed after signing (RelayState added).
    await refused(
      await b.fetch(
        redirect(
          request({}, strict),
          strict.signing.privateKeyPem,
          (q) => `${q.replace('&SigAlg', '&RelayState=x&SigAlg')}`,
        ),
      ),
      400,
      'bad_signature',
      before,
    );
    // SHA-1 is refused even when the signature is right.
    const xml = request({}, strict);
    let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`;
    query += `&Signature=${encodeURIComponent(sign('sha1', Buffer.from(query), createPrivateKey(strict.signing.privateKeyPem)).toString('base64'))}`;
    await refused(await b.fetch(`/saml/default/sso?${query}`), 400, 'bad_signature', before);
    // A signed Destination must be there.
    await refused(
      await post(b, signPost(request({ destination: null }, strict), strict.signing.privateKeyPem)),
      400,
      'wrong_destination',
      before,
    );
  });

  it('XML signature wrapping: what is used must be what was signed', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    const key = strict.signing.privateKeyPem;
    const id = `_${randomBytes(16).toString('hex')}`;
    const signed = signPost(request({ id }, strict), key);
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)?.[0] ?? '';
    const unsignedOriginal = signed.replace(signature, '');
    // 1. Content changed after signing: the ACS swapped.
    await refused(
      await post(b, signed.replace(acsUrl, 'https://evil.example/acs')),
      400,
      'bad_signature',
      before,
    );
    // 2. An evil root (its own ID, evil ACS) wrapping the signed original in Extensions.
    const wrapped = request(
      { acs: 'https://evil.example/acs', inner: `<samlp:Extensions>${signed}</samlp:Extensions>` },
      strict,
    );
    expect((await post(b, wrapped)).status).to.equal(400);
    // 3. The evil root takes the signed ID and the signature; the original hides in Extensions.
    const evil = request(
      {
        id,
        acs: 'https://evil.example/acs',
        inner: `${signature}<samlp:Extensions><x:w xmlns:x="urn:x">${unsignedOriginal}</x:w></samlp:Extensions>`,
      },
      strict,
    );
    expect((await post(b, evil)).status).to.equal(400);
    // 4. The signature's Reference moved to another element of the document (Issuer-only signature).
    const issuerSigned = (() => {
      const sig = new SignedXml({
        privateKey: key,
        signatureAlgorithm: rsaSha256,
        canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      });
      sig.addReference({
        xpath: "//*[local-name(.)='Issuer']",
        transforms: ['http://www.w3.org/2001/10/xml-exc-c14n#'],
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      });
      sig.computeSignature(request({ acs: 'https://evil.example/acs' }, strict), {
        prefix: 'ds',
        location: {
          reference: "/*[local-name(.)='AuthnRequest']/*[local-name(.)='Issuer']",
          action: 'after',
        },
      });
      return sig.getSignedXml();
    })();
    expect((await post(b, issuerSigned)).status).to.equal(400);
    // 5. Two signatures.
    expect(
      (
        await post(
          b,
          signed.replace(
            '</samlp:AuthnRequest>',
            `<samlp:Extensions><x:s xmlns:x="urn:x">${signature}</x:s></samlp:Extensions></samlp:AuthnRequest>`,
          ),
        )
      ).status,
    ).to.equal(400);
    // 6. A comment inside the signed Issuer does not make another SP of it.
    expect(
      (await post(b, signed.replace(`>${strict.entityId}<`, `>${strict.entityId}<!---->.evil<`))).status,
    ).to.equal(400);
    // 7. An XML signature inside a Redirect message (that binding signs the query).
    expect((await b.fetch(redirect(signed))).status).to.equal(400);
    expect(await counts()).to.deep.equal(before);
  });

  it('a replayed request ID is refused; of concurrent uses exactly one wins', async () => {
    const b = new Browser(e.url);
    const url = redirect(request({}, strict), strict.signing.privateKeyPem);
    expect((await b.fetch(url)).status).to.equal(303);
    const before = await counts();
    await refused(await b.fetch(url), 400, 'replayed', before);

    const raced = redirect(request({}, strict), strict.signing.privateKeyPem);
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => new Browser(e.url).fetch(raced).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 303)).to.have.length(1);
    expect(statuses.filter((s) => s === 400)).to.have.length(7);
  });

  it('DTDs, entities (XXE, billion laughs) and malformed XML', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${request({ issuer: '&x;' })}`;
    await refused(await b.fetch(redirect(xxe)), 400, 'malformed', before);
    const laughs = `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${request()}`;
    await refused(await post(b, laughs), 400, 'malformed', before);
    await refused(await b.fetch(redirect('<samlp:AuthnRequest')), 400, 'malformed', before);
    await refused(await b.fetch(redirect('<x/>')), 400, 'malformed', before);
    // Valid XML, not valid SAML (schema): no Version.
    await refused(await b.fetch(redirect(request().replace(' Version="2.0"', ''))), 400, 'malformed', before);
    await refused(await b.fetch('/saml/default/sso?SAMLRequest=%%%'), 400, 'malformed', before);
    await refused(await b.fetch('/saml/default/sso'), 400, 'malformed', before);
  });

  it('size caps: an inflate bomb over 256 KiB, a POST body over 1 MiB', async () => {
    const before = await counts();
    const b = new Browser(e.url);
    const bomb = request({
      inner: `<samlp:Extensions><x:p xmlns:x="urn:x">${' '.repeat(300 * 1024)}</x:p></samlp:Extensions>`,
    });
    const compressed = deflateRawSync(Buffer.from(bomb));
    expect(compressed.length).to.be.lessThan(4 * 1024);
    await refused(
      await b.fetch(`/saml/default/sso?SAMLRequest=${encodeURIComponent(compressed.toString('base64'))}`),
      413,
      'too_large',
      before,
    );
    const big = await b.fetch('/saml/default/sso', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `SAMLRequest=${'A'.repeat(1024 * 1024 + 10)}`,
    });
    await refused(big, 413, 'too_large', before);
  });

  it('the registration API refuses unusable metadata and stores nothing', async () => {
    const before = await e.runtime.dbs.idp?.('idp_saml_sps').count({ n: '*' });
    const add = (body: unknown) =>
      fetch(`${e.url}/idp/api/v1/servers/default/saml/sps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
        body: JSON.stringify(body),
      });
    const cases = [
      { metadata: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' },
      {
        metadata: open.metadata.replace(
          /urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST/g,
          'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact',
        ),
      },
      { metadata: open.metadata.replace(/Location="[^"]+"/, 'Location="javascript:alert(1)"') },
      { metadata: open.metadata.replace(/<ds:X509Certificate>[^<]+/g, '<ds:X509Certificate>AAAA') },
      { metadata: open.metadata, sign: 'nothing' },
      { metadata: open.metadata, attributes: { mail: 'password' } },
      { metadata: open.metadata, metadataUrl: 'https://x.example/md' },
      {},
    ];
    for (const body of cases) {
      const res = await add(body);
      expect(res.status, JSON.stringify(body).slice(0, 120)).to.equal(400);
      expect(res.headers.get('content-type')).to.contain('application/problem+json');
    }
    // Registered already.
    expect((await add({ metadata: open.metadata })).status).to.equal(409);
    expect(await e.runtime.dbs.idp?.('idp_saml_sps').count({ n: '*' })).to.deep.equal(before);
  });
});
