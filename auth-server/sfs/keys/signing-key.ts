// The SFS attestation signing key: ES256, generated once, its private half sealed with NEXTAUTH_SECRET_KEY.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { Clock } from '../../common/clock.js';
import { openString, seal } from '../../common/crypto/secret-box.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis } from '../../common/db/timestamps.js';
import { type P256PublicJwk, p256PublicJwkSchema } from '../jwk.js';

const table = 'sfs_signing_keys';
const activeSlot = 'signing';

export interface SfsSigningKey {
  /** RFC 7638 thumbprint of the public key; the JWS `kid`. */
  kid: string;
  publicJwk: P256PublicJwk;
  privateKey: CryptoKey;
  createdAt: Date;
}

interface Row {
  kid: string;
  public_jwk: string;
  sealed_private_jwk: string;
  active_slot: string | null;
  created_at: unknown;
  retired_at: unknown;
}

/** Binds a sealed key to its row: a sealed value copied onto another row does not open. */
const sealContext = (kid: string) => `sfs-signing-key:${kid}`;

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

async function fromRow(row: Row, secretKey: string): Promise<SfsSigningKey> {
  const publicJwk = p256PublicJwkSchema.parse(JSON.parse(row.public_jwk));
  // Throws SecretBoxError for a wrong NEXTAUTH_SECRET_KEY or an altered value.
  const privateJwk = JSON.parse(openString(secretKey, sealContext(row.kid), row.sealed_private_jwk)) as JWK;
  if (privateJwk.x !== publicJwk.x || privateJwk.y !== publicJwk.y || typeof privateJwk.d !== 'string')
    throw new SigningKeyError(`SFS signing key ${row.kid}: private and public halves do not match`);
  const privateKey = await importJWK(privateJwk, 'ES256');
  if (!(privateKey instanceof CryptoKey))
    throw new SigningKeyError('ES256 key did not import as a CryptoKey');
  return { kid: row.kid, publicJwk, privateKey, createdAt: new Date(fromDbMillis(row.created_at)) };
}

/**
 * Returns the active signing key, creating it on first use. Instances that start together each try to
 * insert their own key into the single 'signing' slot; the unique index lets exactly one win and the
 * others load the winner.
 */
export async function loadOrCreateSfsKey(
  knex: Knex,
  secretKey: string,
  clock: Clock,
): Promise<SfsSigningKey> {
  const existing = await knex<Row>(table).where({ active_slot: activeSlot }).first();
  if (existing) return fromRow(existing, secretKey);
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = p256PublicJwkSchema.parse({
    kty: privateJwk.kty,
    crv: privateJwk.crv,
    x: privateJwk.x,
    y: privateJwk.y,
  });
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

/**
 * Public keys NS may accept: the active one and those retired less than `graceMs` ago (an attestation
 * lives at most 60 s, so a rotated key must stay trusted that long), each with `kid`, `alg` and `use`.
 */
export async function sfsPublicKeys(knex: Knex, clock: Clock, graceMs = 120_000): Promise<JWK[]> {
  const rows = await knex<Row>(table)
    .whereNull('retired_at')
    .orWhere('retired_at', '>', clock.now() - graceMs)
    .orderBy('created_at', 'desc');
  return rows.map((row) => ({
    ...p256PublicJwkSchema.parse(JSON.parse(row.public_jwk)),
    kid: row.kid,
    alg: 'ES256',
    use: 'sig',
  }));
}
