// Each virtual server's SAML IdP key pairs — one signs Responses and Assertions, one is offered to SPs for
// encrypting to us — as self-signed certificates (published in the metadata) and private keys sealed with
// NEXTAUTH_SECRET_KEY. Like the OIDC signing keys (idp/oidc/signing-keys.ts) each use has a `current` key and
// a `next` key that the metadata already lists, so a rotation only ever signs with a certificate SPs could
// fetch beforehand; retired keys stay published for `retiredKeepMs`. Opened into KeyObjects once per process
// and re-checked against the database every `recheckMs`, so a rotation on another instance counts there too.
import { createPrivateKey, generateKeyPair, type KeyObject, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import { openString, seal } from '../../auth-server/common/crypto/secret-box.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { lockRows } from '../../auth-server/common/db/lock.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';
import { dateOrNull, ringStateOf, ringVersion, sortRing } from '../key-ring.js';
import { certificateBody, certificateFingerprint, selfSignedCertificate } from './x509.js';

export const samlKeysTable = 'idp_saml_key_ring';
export const keyUses = ['signing', 'encryption'] as const;
export type KeyUse = (typeof keyUses)[number];

/** Certificates are only containers for the key in SAML metadata; SPs pin them, so they last. */
const certificateYears = 10;
/** How long a retired key stays in the metadata: SPs re-read metadata daily at best, many only by hand. */
export const defaultRetiredKeepMs = 14 * 24 * 3600 * 1000;
/** How often a cached key ring is compared with the database (a rotation on another instance). */
export const defaultRecheckMs = 30_000;

export interface SamlKey {
  /** SHA-256 of the certificate's DER, hex. */
  kid: string;
  /** PEM. */
  certificate: string;
  /** The base64 body, as `<ds:X509Certificate>` carries it. */
  certificateBody: string;
  privateKey: KeyObject;
}

/** The keys a message is signed (and, were anything encrypted to us, decrypted) with. */
export interface SamlKeyPair {
  signing: SamlKey;
  encryption: SamlKey;
}

export interface SamlKeyRing extends SamlKeyPair {
  /** Changes whenever a key is added, promoted or retired. */
  version: string;
  /** Certificate bodies for the metadata per use: current, next, then retired ones still in their overlap. */
  published: Record<KeyUse, string[]>;
  /** Every published encryption key, current first: what would decrypt a message encrypted to us. */
  decryption: KeyObject[];
}

export interface SamlKeyInfo {
  kid: string;
  use: KeyUse;
  state: 'current' | 'next' | 'retired';
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
  /** The self-signed certificate, PEM (public). */
  certificate: string;
  /** The certificate's end of validity. */
  notAfter: Date;
}

interface Row {
  kid: string;
  server: string;
  use: string;
  slot: string | null;
  certificate: string;
  sealed_private_key: string;
  legacy_seal: boolean | number;
  created_at: unknown;
  activated_at: unknown;
  retired_at: unknown;
}

type Slot = 'current' | 'next';

/** A sealed key opens only on its own row; keys moved over from the one-key table kept their old context. */
const sealContext = (server: string, use: string, kid: string) => `idp-saml-key:${server}:${use}:${kid}`;
const legacySealContext = (server: string, use: string) => `idp-saml-key:${server}:${use}`;
const generateRsa = promisify(generateKeyPair);

const notAfterOf = (pem: string) => Date.parse(new X509Certificate(pem).validTo);

export interface SamlKeyStore {
  /** The server's key ring, created on first use (safe from many instances at once). */
  get(server: string): Promise<SamlKeyRing>;
  /** Creates whatever `current`/`next` key is missing. */
  ensure(server: string): Promise<void>;
  /** Published keys (public information only): current, next, retired within the overlap. */
  list(server: string): Promise<SamlKeyInfo[]>;
  /**
   * For each use: `current` → retired, `next` → `current`, a new `next`; drops keys retired beyond the
   * overlap. `inside` runs in the rotation's transaction (the audit record): throwing rolls it back.
   */
  rotate(server: string, uses: readonly KeyUse[], inside?: () => Promise<void>): Promise<SamlKeyInfo[]>;
}

export function createSamlKeyStore(deps: {
  knex: Knex;
  secretKey: string;
  clock: Clock;
  random: Random;
  retiredKeepMs?: number;
  recheckMs?: number;
}): SamlKeyStore {
  const { knex, secretKey, clock, random } = deps;
  const keepMs = deps.retiredKeepMs ?? defaultRetiredKeepMs;
  const recheckMs = deps.recheckMs ?? defaultRecheckMs;
  const cache = new Map<string, { checkedAt: number; ring: Promise<SamlKeyRing> }>();

  const newRow = async (server: string, use: KeyUse, slot: Slot): Promise<Row> => {
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
    const now = clock.now();
    const serial = Buffer.from(random.bytes(16));
    serial[0] = (serial[0] ?? 0) & 0x7f;
    const certificate = selfSignedCertificate({
      publicKey,
      privateKey,
      commonName: `nextAuth SAML IdP ${server} (${use})`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + certificateYears * 365 * 24 * 3600 * 1000),
      serial,
    });
    const kid = certificateFingerprint(certificate);
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return {
      kid,
      server,
      use,
      slot,
      certificate,
      sealed_private_key: seal(secretKey, sealContext(server, use, kid), pem),
      legacy_seal: false,
      created_at: now,
      activated_at: slot === 'current' ? now : null,
      retired_at: null,
    };
  };

  /** Published rows, current first, then next, then retired (latest first); expired certificates never. */
  const visible = async (server: string): Promise<Row[]> => {
    const now = clock.now();
    const rows = (await knex<Row>(samlKeysTable)
      .where({ server })
      .andWhere((q) => q.whereNotNull('slot').orWhere('retired_at', '>', now - keepMs))) as Row[];
    return sortRing(
      rows.filter((r) => notAfterOf(r.certificate) > now),
      (r) => keyUses.indexOf(r.use as KeyUse),
    );
  };

  const info = (row: Row): SamlKeyInfo => ({
    kid: row.kid,
    use: row.use as KeyUse,
    state: ringStateOf(row),
    createdAt: new Date(fromDbMillis(row.created_at)),
    activatedAt: dateOrNull(row.activated_at),
    retiredAt: dateOrNull(row.retired_at),
    certificate: row.certificate,
    notAfter: new Date(notAfterOf(row.certificate)),
  });

  const ensure = async (server: string) => {
    const rows = (await knex<Row>(samlKeysTable).where({ server }).whereNotNull('slot')) as Row[];
    for (const use of keyUses) {
      for (const slot of ['current', 'next'] as const) {
        if (rows.some((r) => r.use === use && r.slot === slot)) continue;
        try {
          await knex(samlKeysTable).insert(await newRow(server, use, slot));
        } catch (err) {
          // Another instance filled the slot first: theirs is the key.
          if (!isUniqueViolation(err)) throw err;
        }
      }
    }
  };

  const open = (row: Row): KeyObject =>
    createPrivateKey(
      openString(
        secretKey,
        row.legacy_seal ? legacySealContext(row.server, row.use) : sealContext(row.server, row.use, row.kid),
        row.sealed_private_key,
      ),
    );

  const load = async (server: string): Promise<SamlKeyRing> => {
    let rows = await visible(server);
    if (keyUses.some((use) => !rows.some((r) => r.use === use && r.slot === 'next'))) {
      await ensure(server);
      rows = await visible(server);
    }
    const current = (use: KeyUse): SamlKey => {
      const row = rows.find((r) => r.use === use && r.slot === 'current');
      if (!row) throw new Error(`SAML ${use} key of ${server} missing`);
      return {
        kid: row.kid,
        certificate: row.certificate,
        certificateBody: certificateBody(row.certificate),
        privateKey: open(row),
      };
    };
    const ofUse = (use: KeyUse) => rows.filter((r) => r.use === use);
    return {
      version: ringVersion(rows),
      signing: current('signing'),
      encryption: current('encryption'),
      published: {
        signing: ofUse('signing').map((r) => certificateBody(r.certificate)),
        encryption: ofUse('encryption').map((r) => certificateBody(r.certificate)),
      },
      decryption: ofUse('encryption').map(open),
    };
  };

  return {
    ensure,

    get(server) {
      const now = clock.now();
      const hit = cache.get(server);
      if (hit && now - hit.checkedAt < recheckMs) return hit.ring;
      const ring = (async () => {
        // A cheap comparison first: the keys are opened again only when they changed.
        const previous = hit ? await hit.ring.catch(() => undefined) : undefined;
        if (previous && previous.version === ringVersion(await visible(server))) return previous;
        return load(server);
      })();
      cache.set(server, { checkedAt: now, ring });
      // A failed load (database down) is retried by the next request.
      ring.catch(() => {
        if (cache.get(server)?.ring === ring) cache.delete(server);
      });
      return ring;
    },

    async list(server) {
      await ensure(server);
      return (await visible(server)).map(info);
    },

    async rotate(server, uses, inside) {
      await ensure(server);
      const now = clock.now();
      // Generated outside the transaction: RSA key generation takes tens of milliseconds.
      const fresh = await Promise.all(uses.map((use) => newRow(server, use, 'next')));
      await knex.transaction(async (trx) => {
        // Serialises rotations of one server on every database (see lockRows).
        await lockRows(trx, samlKeysTable, { server }, 'slot');
        for (const [i, use] of uses.entries()) {
          await trx(samlKeysTable)
            .where({ server, use, slot: 'current' })
            .update({ slot: null, retired_at: now });
          await trx(samlKeysTable)
            .where({ server, use, slot: 'next' })
            .update({ slot: 'current', activated_at: now });
          await trx(samlKeysTable).insert(fresh[i]);
        }
        await trx(samlKeysTable)
          .where({ server })
          .whereNull('slot')
          .andWhere('retired_at', '<=', now - keepMs)
          .delete();
        await inside?.();
      });
      // This instance signs with the promoted key at once; the others within `recheckMs`.
      cache.delete(server);
      return (await visible(server)).map(info);
    },
  };
}
