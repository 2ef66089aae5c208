// Verifying the signature of a request from an SP so that what is used is what was signed
// (GHSA-63ch-w8pw-4mf2, XML signature wrapping): a POSTed message must carry exactly one enveloped
// signature, a direct child of its root, whose one Reference names the root's ID; the caller then reads
// the message only from the canonical XML that the signature covers, never from the document around it.
import { verify, X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { SamlError } from './errors.js';
import type { RedirectMessage } from './request-decode.js';
import { parseXml } from './xml.js';

const dsNs = 'http://www.w3.org/2000/09/xmldsig#';

/** No SHA-1 (saml-bindings §3.4.4.1 allows any; SHA-1 signatures can be forged at this point). */
const redirectAlgs: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};
const xmlSignatureAlgs = new Set(Object.keys(redirectAlgs));

const publicKeyOf = (certificateBody: string) =>
  new X509Certificate(Buffer.from(certificateBody, 'base64')).publicKey;

const pemOf = (body: string) =>
  `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;

/** HTTP-Redirect: the query signature over the octets as sent, by one of the SP's signing certificates. */
export function verifyRedirectSignature(
  signature: NonNullable<RedirectMessage['signature']>,
  certificates: readonly string[],
): void {
  const hash = redirectAlgs[signature.sigAlg];
  if (!hash) throw new SamlError('bad_signature', 'SigAlg is not RSA-SHA256 or RSA-SHA512');
  const octets = Buffer.from(signature.signedOctets, 'utf8');
  if (!certificates.some((c) => verify(hash, octets, publicKeyOf(c), signature.signature)))
    throw new SamlError('bad_signature', "The signature does not verify with the SP's certificate");
}

/** The direct element children of `el` named `local` in `namespace`. */
export function childElements(el: Element, namespace: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === namespace && (n as Element).localName === local)
      out.push(n as Element);
  }
  return out;
}

/** Whether the document has any ds:Signature (at any depth). */
export function hasXmlSignature(doc: Document): boolean {
  return doc.getElementsByTagNameNS(dsNs, 'Signature').length > 0;
}

/**
 * Verifies the enveloped signature of `doc`'s root with one of `certificates` and returns the root element of
 * the signed content (re-parsed from xml-crypto's canonical form of the one signed reference).
 */
export function verifyEnvelopedSignature(
  xml: string,
  doc: Document,
  certificates: readonly string[],
): Element {
  const root = doc.documentElement;
  const id = root?.getAttribute('ID') ?? '';
  if (!root || id.length === 0) throw new SamlError('malformed', 'The message has no ID');
  const all = doc.getElementsByTagNameNS(dsNs, 'Signature');
  const own = childElements(root, dsNs, 'Signature');
  if (all.length !== 1 || own.length !== 1 || !own[0])
    throw new SamlError('bad_signature', 'Expected exactly one signature, on the message itself');
  const signatureNode = own[0];
  const method = signatureNode.getElementsByTagNameNS(dsNs, 'SignatureMethod')[0]?.getAttribute('Algorithm');
  if (!method || !xmlSignatureAlgs.has(method))
    throw new SamlError('bad_signature', 'The signature is not RSA-SHA256 or RSA-SHA512');
  for (const certificate of certificates) {
    const sig = new SignedXml({ publicCert: pemOf(certificate), getCertFromKeyInfo: () => null });
    sig.loadSignature(signatureNode);
    let valid = false;
    try {
      valid = sig.checkSignature(xml);
    } catch {
      valid = false;
    }
    if (!valid) continue;
    const references = sig.getReferences();
    const signed = sig.getSignedReferences();
    if (references.length !== 1 || references[0]?.uri !== `#${id}` || signed.length !== 1 || !signed[0])
      throw new SamlError('bad_signature', 'The signature must cover the whole message and nothing else');
    const signedRoot = parseXml(signed[0]).documentElement;
    if (
      !signedRoot ||
      signedRoot.localName !== root.localName ||
      signedRoot.namespaceURI !== root.namespaceURI ||
      signedRoot.getAttribute('ID') !== id
    )
      throw new SamlError('bad_signature', 'The signature covers another element than the message');
    return signedRoot;
  }
  throw new SamlError('bad_signature', "The signature does not verify with the SP's certificate");
}
