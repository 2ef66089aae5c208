// The MC's secure-channel identity: a P-256 key generated once, its private half sealed with NEXTAUTH_SECRET_KEY.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import { type PublicJwk, publicKeyFromJwk, type Signer, signerFromKeyPair } from '../../../protocol/index.js';
import type { Clock } from '../../common/clock.js';
import { openString, seal } from '../../common/crypto/secret-box.js';
import { isUniqueViolation } from '../../common/db/errors.js';

const table = 'mc_identity_keys';
const activeSlot = 'channel';

interface Row {
  kid: string;
  public_jwk: string;
  sealed_private_jwk: string;
  active_slot: string | null;
  created_at: unknown;
  retired_at: unknown;
}

export interface McIdentity {
  signer: Signer;
  /** What the signed SDK configuration carries as `mc.key`. */
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint. */
  thumbprint: string;
}

/** Binds a sealed key to its row: a sealed value copied onto another row does not open. */
const sealContext = (kid: string) => `mc-identity-key:${kid}`;

async function fromRow(row: Row, secretKey: string): Promise<McIdentity> {
  const privateJwk = JSON.parse(openString(secretKey, sealContext(row.kid), row.sealed_private_jwk)) as JWK;
  const publicJwk = JSON.parse(row.public_jwk) as PublicJwk;
  if (privateJwk.x !== publicJwk.x || privateJwk.y !== publicJwk.y || typeof privateJwk.d !== 'string')
    throw new Error(`MC identity key ${row.kid}: private and public halves do not match`);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const privateKey = await crypto.subtle.importKey('jwk', privateJwk, algorithm, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']);
  const signer = await signerFromKeyPair({ privateKey, publicKey });
  return { signer, publicJwk, thumbprint: row.kid };
}

/**
 * Returns the MC's channel key, creating it on first use; instances that start together race for the single
 * 'channel' slot and the unique index lets exactly one win (as the SFS signing key does).
 */
export async function loadOrCreateMcIdentity(
  knex: Knex,
  secretKey: string,
  clock: Clock,
): Promise<McIdentity> {
  const existing = await knex<Row>(table).where({ active_slot: activeSlot }).first();
  if (existing) return fromRow(existing, secretKey);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: privateJwk.x ?? '', y: privateJwk.y ?? '' };
  publicKeyFromJwk(publicJwk);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const row: Row = {
    kid,
    public_jwk: JSON.stringify(publicJwk),
    sealed_private_jwk: seal(secretKey, sealContext(kid), JSON.stringify(privateJwk)),
    active_slot: activeSlot,
    created_at: clock.now(),
    retired_at: null,
  };
  try {
    await knex(table).insert(row);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await knex<Row>(table).where({ active_slot: activeSlot }).first();
    if (!winner) throw err;
    return fromRow(winner, secretKey);
  }
  return fromRow(row, secretKey);
}
