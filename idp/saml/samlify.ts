// The one module that reaches into samlify (CONVENTIONS.md §9). samlify builds the IdP metadata and encrypts
// Assertions; requests are parsed and their signatures verified by our own code (request.ts), because
// samlify's checks alone are not enough (GHSA-63ch-w8pw-4mf2). Whatever samlify parses still goes through a
// registered schema validator: it is set on import, so no code path can use samlify without one.
import * as samlifyExports from 'samlify';
import { SamlError } from './errors.js';
import { validateSchema } from './xml.js';

// samlify is CommonJS and defines `SamlLib` with a getter, which Node's ESM loader does not see as a named
// export: the module object (the default export) has everything.
const samlify = (samlifyExports as unknown as { default?: typeof samlifyExports }).default ?? samlifyExports;

samlify.setSchemaValidator({ validate: (xml: string) => validateSchema(xml).then(() => 'ok') });

/** AES-256-GCM for the data (samlify's default is AES-CBC); RSA-OAEP for the key, never RSA 1.5. */
export const dataEncryptionAlgorithm = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
export const keyEncryptionAlgorithm = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/**
 * Replaces the one Assertion of `responseXml` by its EncryptedAssertion for the holder of `certificate`
 * (base64 DER); samlify's `ERR_*` strings become a SamlError.
 */
export async function encryptAssertion(responseXml: string, certificate: string): Promise<string> {
  const source = {
    entitySetting: {
      isAssertionEncrypted: true,
      dataEncryptionAlgorithm,
      keyEncryptionAlgorithm,
      tagPrefix: { encryptedAssertion: 'saml' },
    },
  };
  const target = { entityMeta: { getX509Certificate: () => certificate } };
  let base64: string;
  try {
    // samlify types its entities as classes; these two objects carry exactly the members it reads here.
    base64 = await samlify.SamlLib.encryptAssertion(
      source as unknown as Parameters<typeof samlify.SamlLib.encryptAssertion>[0],
      target as unknown as Parameters<typeof samlify.SamlLib.encryptAssertion>[1],
      responseXml,
    );
  } catch {
    throw new SamlError('unsupported', "The Assertion cannot be encrypted with the SP's certificate");
  }
  return Buffer.from(base64, 'base64').toString('utf8');
}

export interface IdpMetadataInput {
  entityId: string;
  /** Base64 certificate bodies: the current key first, then `next` and retired ones (rotation). */
  signingCertificates: readonly string[];
  encryptionCertificates: readonly string[];
  nameIdFormats: readonly string[];
  sso: string;
  slo: string;
}

/**
 * The IdP's EntityDescriptor (saml-metadata §2.4.3): both bindings for SSO and SLO, every published
 * certificate of each use (a KeyDescriptor each: SPs accept a signature by any of them).
 */
export function idpMetadataXml(input: IdpMetadataInput): string {
  const idp = samlify.IdentityProvider({
    entityID: input.entityId,
    signingCert: [...input.signingCertificates],
    encryptCert: [...input.encryptionCertificates],
    nameIDFormat: [...input.nameIdFormats],
    wantAuthnRequestsSigned: false,
    singleSignOnService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: input.sso },
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: input.sso },
    ],
    singleLogoutService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: input.slo },
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: input.slo },
    ],
  });
  return idp.getMetadata();
}
