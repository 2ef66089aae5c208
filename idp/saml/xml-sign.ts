// Enveloped XML signatures (xmldsig-core §6.6.4) with RSA-SHA256 over exclusive canonicalization, placed after
// the signed element's Issuer as saml-core §5.4.1 and the schemas require.
import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';

const exclusiveC14n = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const enveloped = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/**
 * Signs the element with `ID="id"` inside `xml` and returns the document with the signature in it. The key is
 * a KeyObject: xml-crypto hands it to `crypto.sign` as is (no PEM parsing per signature).
 */
export function signElement(
  xml: string,
  options: {
    id: string;
    localName: 'Response' | 'Assertion' | 'LogoutRequest' | 'LogoutResponse';
    key: KeyObject;
    certificateBody: string;
  },
): string {
  const sig = new SignedXml({
    privateKey: options.key,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: exclusiveC14n,
    getKeyInfoContent: () =>
      `<ds:X509Data><ds:X509Certificate>${options.certificateBody}</ds:X509Certificate></ds:X509Data>`,
  });
  sig.addReference({
    xpath: `//*[local-name(.)='${options.localName}' and @ID='${options.id}']`,
    transforms: [enveloped, exclusiveC14n],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: {
      reference: `//*[local-name(.)='${options.localName}' and @ID='${options.id}']/*[local-name(.)='Issuer']`,
      action: 'after',
    },
  });
  return sig.getSignedXml();
}
