// The SFS attestation signing key: ES256, generated once, its private half sealed with NEXTAUTH_SECRET_KEY.
import { importJWK, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { Clock } from '../../common/clock.js';
import {
  loadOrCreateSlotKey,
  openSlotKey,
  type SlotKeyRow,
  type SlotKeyTable,
} from '../../common/crypto/slot-key.js';
import { fromDbMillis } from '../../common/db/timestamps.js';
import { type P256PublicJwk, p256PublicJwkSchema } from '../jwk.js';

const keyTable: SlotKeyTable = {
  table: 'sfs_signing_keys',
  slot: 'signing',
  sealContext: (kid) => `sfs-signing-key:${kid}`,
};
const table = keyTable.table;

export interface SfsSigningKey {
  /** RFC 7638 thumbprint of the public key; the JWS `kid`. */
  kid: string;
  publicJwk: P256PublicJwk;
  privateKey: CryptoKey;
  createdAt: Date;
}

type Row = SlotKeyRow;

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

async function fromRow(row: Row, secretKey: string): Promise<SfsSigningKey> {
  const publicJwk = p256PublicJwkSchema.parse(JSON.parse(row.public_jwk));
  // Throws SecretBoxError for a wrong NEXTAUTH_SECRET_KEY or an altered value.
  const privateKey = await importJWK(openSlotKey(row, keyTable, secretKey), 'ES256');
  if (!(privateKey instanceof CryptoKey))
    throw new SigningKeyError('ES256 key did not import as a CryptoKey');
  return { kid: row.kid, publicJwk, privateKey, createdAt: new Date(fromDbMillis(row.created_at)) };
}

/** Returns the active signing key, creating it on first use (concurrent first starts agree on one). */
export async function loadOrCreateSfsKey(
  knex: Knex,
  secretKey: string,
  clock: Clock,
): Promise<SfsSigningKey> {
  return fromRow(await loadOrCreateSlotKey(knex, keyTable, secretKey, clock), secretKey);
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
