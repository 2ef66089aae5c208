// SAML suites: the embedded runtime (OIDC harness), SPs that are @node-saml/node-saml instances registered
// through the IdP management API from the metadata they generate, and the browser side of SSO — the POST
// form to the ACS read from the IdP's page like a browser would submit it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SAML, type SamlConfig } from '@node-saml/node-saml';
import { expect } from 'chai';
import { certificateBody, selfSignedCertificate } from '../../../idp/saml/x509.js';
import { type Browser, type Embedded, type Phone, qrLogin, rootApiKey } from '../oidc/harness.js';

export interface TestKey {
  certificatePem: string;
  certificateBody: string;
  privateKeyPem: string;
}

export function testKey(commonName = 'test sp'): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const certificatePem = selfSignedCertificate({
    publicKey,
    privateKey,
    commonName,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
    serial,
  });
  return {
    certificatePem,
    certificateBody: certificateBody(certificatePem),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Never contacted: the test reads the form the IdP's page would post there. */
export const acsUrl = 'http://127.0.0.1:9/saml/acs';

export interface TestSp {
  saml: SAML;
  entityId: string;
  signing: TestKey;
  encryption: TestKey;
  metadata: string;
}

/** A node-saml SP for `e`'s default server; `options` override its config. */
export async function createSp(
  e: Embedded,
  entityId: string,
  options: Partial<SamlConfig> & { signRequests?: boolean } = {},
): Promise<TestSp> {
  const signing = testKey(`${entityId} signing`);
  const encryption = testKey(`${entityId} encryption`);
  const metadataRes = await fetch(`${e.url}/saml/default/metadata`);
  expect(metadataRes.status).to.equal(200);
  const idpMetadata = await metadataRes.text();
  const idpCert = /<(?:\w+:)?KeyDescriptor use="signing">[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</.exec(
    idpMetadata,
  )?.[1];
  expect(idpCert, 'signing certificate in the IdP metadata').to.be.a('string');
  const { signRequests, ...config } = options;
  const saml = new SAML({
    entryPoint: `${e.url}/saml/default/sso`,
    issuer: entityId,
    callbackUrl: acsUrl,
    idpCert: idpCert ?? '',
    idpIssuer: `${e.url}/saml/default/metadata`,
    audience: entityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: 'always' as SamlConfig['validateInResponseTo'],
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    decryptionPvk: encryption.privateKeyPem,
    identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    ...(signRequests ? { privateKey: signing.privateKeyPem } : {}),
    ...config,
  });
  const metadata = saml.generateServiceProviderMetadata(encryption.certificatePem, signing.certificatePem);
  return { saml, entityId, signing, encryption, metadata };
}

/** Registers `sp` through the IdP management API as root. */
export async function registerSp(
  e: Embedded,
  sp: TestSp,
  settings: { sign?: string; encrypt?: boolean; attributes?: Record<string, string> } = {},
  metadata = sp.metadata,
): Promise<void> {
  const res = await fetch(`${e.url}/idp/api/v1/servers/default/saml/sps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
    body: JSON.stringify({ metadata, ...settings }),
  });
  expect(res.status, await res.clone().text()).to.equal(201);
}

export interface PostedForm {
  action: string;
  fields: Record<string, string>;
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The auto-posting form of the IdP's page (its action and hidden fields). */
export function postForm(html: string): PostedForm {
  const action = /<form id="saml-post" method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action, 'a SAML POST form').to.be.a('string');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1] ?? ''] = unescapeHtml(m[2] ?? '');
  return { action: unescapeHtml(action ?? ''), fields };
}

/**
 * Follows the browser from the IdP's first answer (the redirect to the login page, or the form at once)
 * through the QR login (with `phone`) to the form for the ACS.
 */
export async function toAcs(
  b: Browser,
  first: Response,
  phone?: Phone,
  decision: 'approve' | 'deny' = 'approve',
): Promise<PostedForm> {
  let res = first;
  if (res.status === 303) {
    const login = new URL(res.headers.get('location') ?? '', b.origin).href;
    res = await b.fetch(login);
    expect(res.status).to.equal(200);
    const html = await res.text();
    if (html.includes('id="saml-post"')) return postForm(html);
    if (!phone) throw new Error('a login is needed but no phone was given');
    const done = await qrLogin(b, phone, login, decision === 'deny' ? 'decline' : 'approve');
    expect(done.status, await done.clone().text()).to.equal(200);
    const { location } = (await done.json()) as { location: string };
    res = await b.fetch(location);
  }
  const html = await res.text();
  expect(res.status, html).to.equal(200);
  return postForm(html);
}

/** SP-initiated over HTTP-Redirect: the AuthnRequest URL node-saml builds. */
export async function redirectRequest(sp: TestSp, relayState = ''): Promise<string> {
  return sp.saml.getAuthorizeUrlAsync(relayState, undefined, {});
}

/** SP-initiated over HTTP-POST: the form fields node-saml's auto-post page carries. */
export async function postRequestFields(sp: TestSp, relayState = ''): Promise<Record<string, string>> {
  const html = await sp.saml.getAuthorizeFormAsync(relayState);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    fields[m[1] ?? ''] = unescapeHtml(m[2] ?? '');
  return fields;
}
