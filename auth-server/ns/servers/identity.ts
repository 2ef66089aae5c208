// The secure-channel identity of each virtual server: a P-256 key created on first use, sealed at rest,
// imported once per process. Key rotation with succession records (issue #6) plugs in at `loadIdentity`.
import type { Knex } from 'knex';
import {
  type PublicJwk,
  publicKeyFromJwk,
  type Signer,
  type SuccessionRecord,
  signerFromKeyPair,
  thumbprint,
} from '../../../protocol/index.js';
import { nsServerId } from '../../../protocol/mobile/common.js';
import type { Clock } from '../../common/clock.js';
import { open, seal } from '../../common/crypto/secret-box.js';

const table = 'ns_virtual_servers';
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface ServerIdentity {
  /** Row id of the virtual server (foreign key of accounts, sessions, tokens). */
  serverId: string;
  name: string;
  displayName: string;
  /** Global id `{NS URL}/ns/{name}`: attestation audience and the server's name at the SFS. */
  globalId: string;
  signer: Signer;
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint of the public key: the `fp` of enrol URIs. */
  thumbprint: string;
  /** Chain from keys clients may still pin; empty until key rotation exists (issue #6). */
  succession: readonly SuccessionRecord[];
}

export interface ServerIdentityService {
  /** The server's identity, creating its key on first use; null when no such server exists. */
  serverIdentity(name: string): Promise<ServerIdentity | null>;
}

interface KeyRow {
  id: string;
  name: string;
  display_name: string;
  identity_public_jwk: string | null;
  identity_private_key: string | null;
  identity_thumbprint: string | null;
}

interface Imported {
  signer: Signer;
  publicJwk: PublicJwk;
  thumbprint: string;
}

/** secret-box context: a sealed key copied to another server's row does not open there. */
const sealContext = (serverId: string) => `ns-server-identity:${serverId}`;

async function generate(secretKey: string, serverId: string) {
  const pair = await crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const { kty, crv, x, y } = privateJwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y) throw new Error('unexpected P-256 JWK export');
  const publicJwk: PublicJwk = { kty, crv, x, y };
  return {
    publicJwk,
    thumbprint: await thumbprint(publicKeyFromJwk(publicJwk)),
    sealed: seal(secretKey, sealContext(serverId), JSON.stringify(privateJwk)),
  };
}

async function importIdentity(secretKey: string, row: KeyRow): Promise<Imported> {
  if (!row.identity_public_jwk || !row.identity_private_key || !row.identity_thumbprint)
    throw new Error('virtual server has no identity key');
  const publicJwk = JSON.parse(row.identity_public_jwk) as PublicJwk;
  const privateJwk = JSON.parse(
    open(secretKey, sealContext(row.id), row.identity_private_key).toString('utf8'),
  ) as JsonWebKey;
  const [privateKey, publicKey] = await Promise.all([
    crypto.subtle.importKey('jwk', privateJwk, ecdsa, false, ['sign']),
    crypto.subtle.importKey('jwk', publicJwk, ecdsa, true, ['verify']),
  ]);
  const fingerprint = await thumbprint(publicKeyFromJwk(publicJwk));
  // The thumbprint column is what enrol URIs pin; a row whose columns disagree must not serve a handshake.
  if (fingerprint !== row.identity_thumbprint) throw new Error('virtual server identity key is inconsistent');
  return { signer: await signerFromKeyPair({ publicKey, privateKey }), publicJwk, thumbprint: fingerprint };
}

export function createServerIdentityService(deps: {
  db: Knex;
  clock: Clock;
  secretKey: string;
  publicUrl: string;
}): ServerIdentityService {
  const { db, clock, secretKey } = deps;
  // Keyed by row id and thumbprint: a deleted and re-created server, or a rotated key, is a new entry.
  const cache = new Map<string, Promise<Imported>>();

  const readRow = (name: string) =>
    db<KeyRow>(table)
      .select(
        'id',
        'name',
        'display_name',
        'identity_public_jwk',
        'identity_private_key',
        'identity_thumbprint',
      )
      .where({ name })
      .first();

  /** Creates the key unless another caller (or instance) did first; either way returns the stored one. */
  const ensureKey = async (row: KeyRow): Promise<KeyRow | undefined> => {
    if (row.identity_public_jwk !== null) return row;
    const key = await generate(secretKey, row.id);
    await db(table)
      .where({ id: row.id })
      .whereNull('identity_public_jwk')
      .update({
        identity_public_jwk: JSON.stringify(key.publicJwk),
        identity_private_key: key.sealed,
        identity_thumbprint: key.thumbprint,
        identity_created_at: clock.now(),
      });
    // Re-read whatever won the conditional UPDATE (ours or a concurrent one).
    return readRow(row.name);
  };

  const loadIdentity = (row: KeyRow): Promise<Imported> => {
    const cacheKey = `${row.id}:${row.identity_thumbprint ?? ''}`;
    let imported = cache.get(cacheKey);
    if (!imported) {
      imported = importIdentity(secretKey, row);
      // A failed import (wrong NEXTAUTH_SECRET_KEY) is not cached: fixing the config needs no restart.
      imported.catch(() => cache.delete(cacheKey));
      cache.set(cacheKey, imported);
    }
    return imported;
  };

  return {
    async serverIdentity(name) {
      const found = await readRow(name);
      const row = found ? await ensureKey(found) : undefined;
      if (!row) return null;
      const imported = await loadIdentity(row);
      return {
        serverId: row.id,
        name: row.name,
        displayName: row.display_name,
        globalId: nsServerId(deps.publicUrl, row.name),
        ...imported,
        succession: [],
      };
    },
  };
}
