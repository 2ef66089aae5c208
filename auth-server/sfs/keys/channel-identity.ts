// The SFS's secure-channel identity: the attestation signing key as a channel Signer, and the SFS target id.
import { createHash } from 'node:crypto';
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

/** docs/protocol.md §7.1: target ids are `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}` — no `/`, so not a URL. */
const targetIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The SFS's channel target id, derived from its issuer URL so it needs no setting of its own: scheme
 * dropped, every run of other characters turned into `:` (`https://idp.example/sfs` → `idp.example:sfs`,
 * `http://127.0.0.1:3000/sfs` → `127.0.0.1:3000:sfs`). Like TLS SNI it only selects the identity; what
 * authenticates the SFS is the pinned key, so a theoretical collision of two ids would be harmless.
 */
export function sfsChannelId(issuer: string): string {
  const readable = issuer
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/[^A-Za-z0-9.-]+/g, ':')
    .replace(/^[^A-Za-z0-9]+|:+$/g, '');
  if (targetIdPattern.test(readable)) return readable;
  // Too long for a target id: keep a readable prefix and make it unique with a hash of the whole issuer.
  const digest = createHash('sha256').update(issuer).digest('hex').slice(0, 16);
  return `${readable.slice(0, 111).replace(/[^A-Za-z0-9]+$/, '')}:${digest}`.replace(/^[^A-Za-z0-9]+/, '');
}
