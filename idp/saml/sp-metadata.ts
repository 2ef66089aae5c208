// What we use of an SP's SAML metadata (saml-metadata §2.4.4): entity ID, ACS endpoints, SLO endpoints,
// certificates by use, AuthnRequestsSigned and the NameID formats it names. Parsed with the same refusals
// as any SAML input (no DTD, well-formed); an SP we cannot fully understand is not registered.
import { X509Certificate } from 'node:crypto';
import { SamlError } from './errors.js';
import { parseXml } from './xml.js';

export const ns = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const bindings = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

/** SP metadata documents larger than this are refused (a URL could otherwise stream anything). */
export const maxMetadataBytes = 256 * 1024;
/** SAML allows 1024; 255 keeps it an audit subject id (and short enough for every index). */
export const maxEntityIdLength = 255;

export interface Endpoint {
  binding: string;
  location: string;
  index?: number;
  isDefault?: boolean;
}

export interface SpMetadata {
  entityId: string;
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
  /** HTTP-POST ACS endpoints only: the one binding our Responses use. */
  acs: Endpoint[];
  slo: Endpoint[];
  /** Base64 DER bodies, by use; a KeyDescriptor without `use` counts for both. */
  signingCertificates: string[];
  encryptionCertificates: string[];
  nameIdFormats: string[];
}

const isHttpUrl = (value: string) => {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

const elements = (parent: Element | Document, local: string, namespace: string = ns.md): Element[] =>
  Array.from(parent.getElementsByTagNameNS(namespace, local) as unknown as Iterable<Element>);

const certificateOf = (text: string): string => {
  const body = text.replace(/\s+/g, '');
  try {
    new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw new SamlError('malformed', 'A certificate in the metadata cannot be read');
  }
  return body;
};

export function parseSpMetadata(xml: string): SpMetadata {
  if (Buffer.byteLength(xml, 'utf8') > maxMetadataBytes)
    throw new SamlError('too_large', 'The metadata is larger than 256 KiB');
  const doc = parseXml(xml);
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== ns.md || root.localName !== 'EntityDescriptor')
    throw new SamlError('malformed', 'Expected one md:EntityDescriptor (not an EntitiesDescriptor)');
  const entityId = root.getAttribute('entityID') ?? '';
  if (entityId.length === 0 || entityId.length > maxEntityIdLength)
    throw new SamlError('malformed', `entityID must have 1 to ${maxEntityIdLength} characters`);
  const descriptors = elements(root, 'SPSSODescriptor');
  const sp = descriptors[0];
  if (!sp || descriptors.length !== 1)
    throw new SamlError('malformed', 'Expected exactly one SPSSODescriptor');
  const endpoints = (local: string): Endpoint[] =>
    elements(sp, local).map((e) => {
      const location = e.getAttribute('Location') ?? '';
      if (!isHttpUrl(location)) throw new SamlError('malformed', `${local} Location is not an http(s) URL`);
      const index = e.getAttribute('index');
      return {
        binding: e.getAttribute('Binding') ?? '',
        location,
        ...(index !== null && /^\d{1,5}$/.test(index) ? { index: Number(index) } : {}),
        ...(e.getAttribute('isDefault') === 'true' ? { isDefault: true } : {}),
      };
    });
  const acs = endpoints('AssertionConsumerService').filter((e) => e.binding === bindings.post);
  if (acs.length === 0)
    throw new SamlError('unsupported', 'The SP has no AssertionConsumerService with the HTTP-POST binding');
  const slo = endpoints('SingleLogoutService').filter(
    (e) => e.binding === bindings.post || e.binding === bindings.redirect,
  );
  const signing: string[] = [];
  const encryption: string[] = [];
  for (const kd of elements(sp, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    for (const c of elements(kd, 'X509Certificate', ns.ds)) {
      const body = certificateOf(c.textContent ?? '');
      if (use !== 'encryption') signing.push(body);
      if (use !== 'signing') encryption.push(body);
    }
  }
  const authnRequestsSigned = sp.getAttribute('AuthnRequestsSigned') === 'true';
  if (authnRequestsSigned && signing.length === 0)
    throw new SamlError('malformed', 'AuthnRequestsSigned="true" but no signing certificate');
  return {
    entityId,
    authnRequestsSigned,
    wantAssertionsSigned: sp.getAttribute('WantAssertionsSigned') === 'true',
    acs,
    slo,
    signingCertificates: signing,
    encryptionCertificates: encryption,
    nameIdFormats: elements(sp, 'NameIDFormat').map((e) => (e.textContent ?? '').trim()),
  };
}
