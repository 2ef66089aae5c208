// A service's own P-256 key kept in a table with one active slot: generated on first use, its private half
// sealed with NEXTAUTH_SECRET_KEY. The SFS attestation key and the MC channel key are such keys.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import { isUniqueViolation } from '../db/errors.js';
import { openString, seal } from './secret-box.js';

/** The columns every slot-key table has (see the SFS and MC migrations). */
export interface SlotKeyRow {
  kid: string;
  public_jwk: string;
  sealed_private_jwk: string;
  active_slot: string | null;
  created_at: unknown;
  retired_at: unknown;
}

export interface SlotKeyTable {
  table: string;
  slot: string;
  /** Binds a sealed key to its row: a sealed value copied onto another row does not open. */
  sealContext(kid: string): string;
}

/** The public P-256 JWK of a generated key: only kty, crv, x and y. */
function publicHalf(privateJwk: JWK): JWK {
  return { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y };
}

/**
 * The active row, created on first use. Instances that start together each try to insert their own key
 * into the single slot; the unique index lets exactly one win and the others load the winner.
 */
export async function loadOrCreateSlotKey(
  knex: Knex,
  spec: SlotKeyTable,
  secretKey: string,
  clock: Clock,
): Promise<SlotKeyRow> {
  const active = () => knex<SlotKeyRow>(spec.table).where({ active_slot: spec.slot }).first();
  const existing = await active();
  if (existing) return existing;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = publicHalf(privateJwk);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const row: SlotKeyRow = {
    kid,
    public_jwk: JSON.stringify(publicJwk),
    sealed_private_jwk: seal(secretKey, spec.sealContext(kid), JSON.stringify(privateJwk)),
    active_slot: spec.slot,
    created_at: clock.now(),
    retired_at: null,
  };
  try {
    await knex(spec.table).insert(row);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await active();
    if (!winner) throw err;
    return winner;
  }
  return row;
}

/** The row's private JWK; throws for a wrong secret key, an altered value, or halves that do not match. */
export function openSlotKey(row: SlotKeyRow, spec: SlotKeyTable, secretKey: string): JWK {
  const privateJwk = JSON.parse(
    openString(secretKey, spec.sealContext(row.kid), row.sealed_private_jwk),
  ) as JWK;
  const publicJwk = JSON.parse(row.public_jwk) as JWK;
  if (privateJwk.x !== publicJwk.x || privateJwk.y !== publicJwk.y || typeof privateJwk.d !== 'string')
    throw new SlotKeyError(`${spec.table} key ${row.kid}: private and public halves do not match`);
  return privateJwk;
}

export class SlotKeyError extends Error {
  override name = 'SlotKeyError';
}
