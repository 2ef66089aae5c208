// `npm run bench -- saml`: signed SAML Responses per second (idp/saml/response.ts: template, escaping,
// enveloped RSA-SHA256 signature with the server's KeyObject, base64) as a ratio to raw xml-crypto signing of
// the same document with the same KeyObject, measured in the same run (issue #9 target: ≥ 80 %).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { buildLoginResponse, type LoginResponseInput } from '../../idp/saml/response.js';
import { certificateBody, certificateFingerprint, selfSignedCertificate } from '../../idp/saml/x509.js';

const now = () => performance.now();

function key() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = selfSignedCertificate({
    publicKey,
    privateKey,
    commonName: 'bench',
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 864e5),
    serial: Buffer.from([1]),
  });
  return {
    kid: certificateFingerprint(pem),
    certificate: pem,
    certificateBody: certificateBody(pem),
    privateKey,
  };
}

function rate(total: number, task: () => unknown): Promise<number> {
  return (async () => {
    const start = now();
    for (let i = 0; i < total; i++) await task();
    return total / ((now() - start) / 1000);
  })();
}

export async function run(): Promise<void> {
  const keys = { signing: key(), encryption: key() };
  const input: LoginResponseInput = {
    idpEntityId: 'https://idp.example/saml/default/metadata',
    spEntityId: 'https://sp.example/saml',
    acs: 'https://sp.example/acs',
    inResponseTo: '_request',
    nameId: { value: 'x'.repeat(43), format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' },
    sessionIndex: '_session',
    authnInstant: Date.now(),
    authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
    attributes: [
      { name: 'mail', values: ['alice@example.com'] },
      { name: 'memberOf', values: ['staff', 'ops'] },
    ],
    now: Date.now(),
    sign: 'response',
    keys,
    random: { bytes: (n) => randomBytes(n) },
  };
  // The same document, unsigned, for the baseline.
  const signed = Buffer.from(await buildLoginResponse(input), 'base64').toString('utf8');
  const unsigned = signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
  const id = /ID="([^"]+)"/.exec(unsigned)?.[1] ?? '';
  const raw = () => {
    const sig = new SignedXml({
      privateKey: keys.signing.privateKey,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: `//*[@ID='${id}']`,
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(unsigned);
    return sig.getSignedXml();
  };
  const total = 300;
  await rate(30, raw);
  await rate(30, () => buildLoginResponse(input));
  const baseline = await rate(total, raw);
  const ours = await rate(total, () => buildLoginResponse(input));
  console.log(
    `signed Responses: ${(100 * (ours / baseline)).toFixed(0)} % of raw xml-crypto signing of the same document (target ≥ 80 %)`,
  );
}
