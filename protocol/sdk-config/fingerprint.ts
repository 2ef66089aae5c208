// Fingerprint of a publisher key: the RFC 7638 thumbprint, also the `kid` of every configuration it signs.
import { publicKeyFromJwk, thumbprint } from '../keys.js';

/** Throws TypeError if `jwk` is not a P-256 key. Private members, if any, are ignored. */
export function publisherFingerprint(jwk: {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
}): Promise<string> {
  return thumbprint(publicKeyFromJwk(jwk));
}
