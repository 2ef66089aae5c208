// The SFS's secure-channel identity: the attestation signing key as a channel Signer.
import {
  type PublicJwk,
  publicKeyFromJwk,
  type Signer,
  signerFromKeyPair,
  thumbprint,
} from '../../../protocol/index.js';
import type { SfsSigningKey } from './signing-key.js';

/**
 * One SFS key serves both roles, so apps pin a single key from the signed SDK configuration. The two uses
 * cannot be confused: a handshake signature covers `nextauth-channel/1 server signature\0 ‖ transcript`
 * (docs/protocol.md §7.4), a JWS covers `base64url(header) '.' base64url(payload)` (RFC 7515 §5.1), which
 * never contains a space or a NUL byte.
 */
export interface SfsIdentity {
  signer: Signer;
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint: the JWS `kid` of attestations and the key fingerprint of the channel. */
  thumbprint: string;
}

export async function channelIdentityFromKey(key: SfsSigningKey): Promise<SfsIdentity> {
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: key.publicJwk.x, y: key.publicJwk.y };
  const publicKey = await crypto.subtle.importKey(
    'jwk',
    publicJwk,
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['verify'],
  );
  const signer = await signerFromKeyPair({ publicKey, privateKey: key.privateKey });
  const fingerprint = await thumbprint(publicKeyFromJwk(publicJwk));
  if (fingerprint !== key.kid) throw new Error('SFS channel key does not match its kid');
  return { signer, publicJwk, thumbprint: fingerprint };
}
