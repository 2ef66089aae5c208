// Signing keys of each virtual server's OpenID Provider (RS256 and ES256), private halves sealed with
// NEXTAUTH_SECRET_KEY. Each algorithm has a `current` key that signs and a `next` key that is already in the
// JWKS, so a rotation only ever starts signing with a key that relying parties could fetch beforehand;
// retired keys stay published for verification for `retiredKeepMs`.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { Clock } from '../../auth-server/common/clock.js';
import { openString, seal } from '../../auth-server/common/crypto/secret-box.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { lockRows } from '../../auth-server/common/db/lock.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';
import { dateOrNull, ringStateOf, ringVersion, sortRing } from '../key-ring.js';

export const signingKeysTable = 'idp_oidc_signing_keys';

/** RS256 first: it is the algorithm OIDC clients get when they register none (OIDC Core §2, §15.1). */
export const signingAlgs = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof signingAlgs)[number];

/** How long a retired key stays in the JWKS: well past the 1 h ID token lifetime and any JWKS cache. */
export const defaultRetiredKeepMs = 7 * 24 * 3600 * 1000;

type Slot = 'current' | 'next';

interface Row {
  kid: string;
  server: string;
  alg: string;
  slot: string | null;
  public_jwk: string;
  sealed_private_jwk: string;
  created_at: unknown;
  activated_at: unknown;
  retired_at: unknown;
}

export interface SigningKeyInfo {
  kid: string;
  alg: SigningAlg;
  state: 'current' | 'next' | 'retired';
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

export interface SigningKeySet {
  /** Changes whenever a key is added, promoted or retired: the provider is rebuilt when it does. */
  version: string;
  /** Private JWKs for oidc-provider: current keys first and signing; the others `key_ops: ['verify']`. */
  keys: JWK[];
}

export interface SigningKeyStoreOptions {
  knex: Knex;
  secretKey: string;
  clock: Clock;
  retiredKeepMs?: number;
}

/** A sealed key opens only on its own row. */
const sealContext = (server: string, kid: string) => `idp-oidc-signing-key:${server}:${kid}`;

async function newKeyRow(
  server: string,
  alg: SigningAlg,
  slot: Slot,
  secretKey: string,
  now: number,
): Promise<Row> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk: JWK =
    privateJwk.kty === 'RSA'
      ? { kty: 'RSA', n: privateJwk.n, e: privateJwk.e }
      : { kty: 'EC', crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    kid,
    server,
    alg,
    slot,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    sealed_private_jwk: seal(
      secretKey,
      sealContext(server, kid),
      JSON.stringify({ ...privateJwk, kid, alg }),
    ),
    created_at: now,
    activated_at: slot === 'current' ? now : null,
    retired_at: null,
  };
}

export interface SigningKeyStore {
  /** Creates whatever `current`/`next` key is missing; safe from many instances at once. */
  ensure(server: string): Promise<void>;
  /**
   * `current` → retired, `next` → `current`, a new `next`; drops keys retired beyond the keep window.
   * `inside` runs in the rotation's transaction (the audit record): throwing rolls the rotation back.
   */
  rotate(server: string, inside?: () => Promise<void>): Promise<SigningKeyInfo[]>;
  list(server: string): Promise<SigningKeyInfo[]>;
  /** The keys oidc-provider is built with (after `ensure`). */
  load(server: string): Promise<SigningKeySet>;
  /** Cheap: only the version, to decide whether a cached provider is stale. */
  version(server: string): Promise<string>;
}

export function createSigningKeyStore(options: SigningKeyStoreOptions): SigningKeyStore {
  const { knex, secretKey, clock } = options;
  const keepMs = options.retiredKeepMs ?? defaultRetiredKeepMs;

  const visible = async (server: string, db: Knex = knex): Promise<Row[]> => {
    const rows = (await db<Row>(signingKeysTable)
      .where({ server })
      .andWhere((q) => q.whereNotNull('slot').orWhere('retired_at', '>', clock.now() - keepMs))) as Row[];
    return sortRing(rows, (r) => signingAlgs.indexOf(r.alg as SigningAlg));
  };

  const info = (row: Row): SigningKeyInfo => ({
    kid: row.kid,
    alg: row.alg as SigningAlg,
    state: ringStateOf(row),
    createdAt: new Date(fromDbMillis(row.created_at)),
    activatedAt: dateOrNull(row.activated_at),
    retiredAt: dateOrNull(row.retired_at),
  });

  /** Inserts a key into an empty slot; a concurrent instance that filled it first wins. */
  const fill = async (db: Knex, server: string, alg: SigningAlg, slot: Slot) => {
    const row = await newKeyRow(server, alg, slot, secretKey, clock.now());
    try {
      await db(signingKeysTable).insert(row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  };

  const ensure = async (server: string) => {
    const rows = (await knex<Row>(signingKeysTable).where({ server }).whereNotNull('slot')) as Row[];
    for (const alg of signingAlgs) {
      for (const slot of ['current', 'next'] as const) {
        if (!rows.some((r) => r.alg === alg && r.slot === slot)) await fill(knex, server, alg, slot);
      }
    }
  };

  return {
    ensure,

    async rotate(server, inside) {
      await ensure(server);
      // Generated outside the transaction: RSA key generation takes tens of milliseconds.
      const now = clock.now();
      const fresh = await Promise.all(
        signingAlgs.map((alg) => newKeyRow(server, alg, 'next', secretKey, now)),
      );
      await knex.transaction(async (trx) => {
        // Serialises rotations of one server on every database (see lockRows).
        await lockRows(trx, signingKeysTable, { server }, 'slot');
        for (const [i, alg] of signingAlgs.entries()) {
          await trx(signingKeysTable)
            .where({ server, alg, slot: 'current' })
            .update({ slot: null, retired_at: now });
          await trx(signingKeysTable)
            .where({ server, alg, slot: 'next' })
            .update({ slot: 'current', activated_at: now });
          await trx(signingKeysTable).insert(fresh[i]);
        }
        await trx(signingKeysTable)
          .where({ server })
          .whereNull('slot')
          .andWhere('retired_at', '<=', now - keepMs)
          .delete();
        await inside?.();
      });
      return (await visible(server)).map(info);
    },

    async list(server) {
      return (await visible(server)).map(info);
    },

    async load(server) {
      const rows = await visible(server);
      const keys = rows.map((row) => {
        const jwk = JSON.parse(
          openString(secretKey, sealContext(server, row.kid), row.sealed_private_jwk),
        ) as JWK;
        // oidc-provider signs with the first key of an algorithm whose key_ops (if any) include `sign`.
        return row.slot === 'current' ? jwk : { ...jwk, key_ops: ['verify'] };
      });
      return { version: ringVersion(rows), keys };
    },

    async version(server) {
      return ringVersion(await visible(server));
    },
  };
}
