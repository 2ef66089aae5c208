// The MC's secure-channel identity: a P-256 key generated once, its private half sealed with NEXTAUTH_SECRET_KEY.
import type { Knex } from 'knex';
import { type PublicJwk, publicKeyFromJwk, type Signer, signerFromKeyPair } from '../../../protocol/index.js';
import type { Clock } from '../../common/clock.js';
import {
  loadOrCreateSlotKey,
  openSlotKey,
  type SlotKeyRow,
  type SlotKeyTable,
} from '../../common/crypto/slot-key.js';

const keyTable: SlotKeyTable = {
  table: 'mc_identity_keys',
  slot: 'channel',
  sealContext: (kid) => `mc-identity-key:${kid}`,
};

export interface McIdentity {
  signer: Signer;
  /** What the signed SDK configuration carries as `mc.key`. */
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint. */
  thumbprint: string;
}

async function fromRow(row: SlotKeyRow, secretKey: string): Promise<McIdentity> {
  const privateJwk = openSlotKey(row, keyTable, secretKey);
  const publicJwk = JSON.parse(row.public_jwk) as PublicJwk;
  publicKeyFromJwk(publicJwk);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const privateKey = await crypto.subtle.importKey('jwk', privateJwk, algorithm, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']);
  const signer = await signerFromKeyPair({ privateKey, publicKey });
  return { signer, publicJwk, thumbprint: row.kid };
}

/** Returns the MC's channel key, creating it on first use (concurrent first starts agree on one). */
export async function loadOrCreateMcIdentity(
  knex: Knex,
  secretKey: string,
  clock: Clock,
): Promise<McIdentity> {
  return fromRow(await loadOrCreateSlotKey(knex, keyTable, secretKey, clock), secretKey);
}
