// Each virtual server's SAML IdP key pairs — one signs Responses and Assertions, one is offered to SPs for
// encrypting to us — as self-signed certificates (published in the metadata) and private keys sealed with
// NEXTAUTH_SECRET_KEY. Opened once per process into KeyObjects: signing never re-parses a PEM.
import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import { openString, seal } from '../../auth-server/common/crypto/secret-box.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { certificateBody, selfSignedCertificate } from './x509.js';

export const samlKeysTable = 'idp_saml_keys';
export const keyUses = ['signing', 'encryption'] as const;
export type KeyUse = (typeof keyUses)[number];

/** Certificates are only containers for the key in SAML metadata; SPs pin them, so they last. */
const certificateYears = 10;

export interface SamlKey {
  /** PEM. */
  certificate: string;
  /** The base64 body, as `<ds:X509Certificate>` carries it. */
  certificateBody: string;
  privateKey: KeyObject;
}

export interface SamlKeyPair {
  signing: SamlKey;
  encryption: SamlKey;
}

interface Row {
  server: string;
  use: string;
  certificate: string;
  sealed_private_key: string;
  created_at: unknown;
}

const sealContext = (server: string, use: KeyUse) => `idp-saml-key:${server}:${use}`;
const generateRsa = promisify(generateKeyPair);

export interface SamlKeyStore {
  /** The server's keys, created on first use (safe from many instances at once). */
  get(server: string): Promise<SamlKeyPair>;
}

export function createSamlKeyStore(deps: {
  knex: Knex;
  secretKey: string;
  clock: Clock;
  random: Random;
}): SamlKeyStore {
  const { knex, secretKey, clock, random } = deps;
  const cache = new Map<string, Promise<SamlKeyPair>>();

  const create = async (server: string, use: KeyUse): Promise<void> => {
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
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      await knex(samlKeysTable).insert({
        server,
        use,
        certificate,
        sealed_private_key: seal(secretKey, sealContext(server, use), pem),
        created_at: now,
      });
    } catch (err) {
      // Another instance created it first: theirs is the key.
      if (!isUniqueViolation(err)) throw err;
    }
  };

  const load = async (server: string): Promise<SamlKeyPair> => {
    let rows = (await knex<Row>(samlKeysTable).where({ server })) as Row[];
    const missing = keyUses.filter((use) => !rows.some((r) => r.use === use));
    if (missing.length > 0) {
      for (const use of missing) await create(server, use);
      rows = (await knex<Row>(samlKeysTable).where({ server })) as Row[];
    }
    const key = (use: KeyUse): SamlKey => {
      const row = rows.find((r) => r.use === use);
      if (!row) throw new Error(`SAML ${use} key of ${server} missing`);
      return {
        certificate: row.certificate,
        certificateBody: certificateBody(row.certificate),
        privateKey: createPrivateKey(openString(secretKey, sealContext(server, use), row.sealed_private_key)),
      };
    };
    return { signing: key('signing'), encryption: key('encryption') };
  };

  return {
    get(server) {
      let pair = cache.get(server);
      if (!pair) {
        pair = load(server);
        cache.set(server, pair);
        // A failed load (database down) is retried by the next request.
        pair.catch(() => cache.delete(server));
      }
      return pair;
    },
  };
}
