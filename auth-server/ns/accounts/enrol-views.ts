// Storage of enrol page views: one per enrol token, found by the SHA-256 of its view token (or of the
// browser secret once a browser claimed it), with the enrol URI sealed under a key only the view token gives.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { fromDbMillis } from '../../common/db/timestamps.js';

const table = 'ns_enrol_views';

export interface EnrolView {
  viewHash: string;
  tokenHash: string;
  serverId: string;
  sealedUri: string;
  claimHash: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface EnrolViewRepository {
  save(view: EnrolView): Promise<void>;
  findByViewHash(viewHash: string): Promise<EnrolView | undefined>;
  findByClaimHash(claimHash: string): Promise<EnrolView | undefined>;
  /** Binds the view to a browser: true for exactly one of N concurrent callers, and only while unclaimed. */
  claim(viewHash: string, claimHash: string): Promise<boolean>;
}

interface Row {
  view_hash: string;
  token_hash: string;
  server_id: string;
  sealed_uri: string;
  claim_hash: string | null;
  created_at: unknown;
  expires_at: unknown;
}

const toDomain = (row: Row): EnrolView => ({
  viewHash: row.view_hash,
  tokenHash: row.token_hash,
  serverId: row.server_id,
  sealedUri: row.sealed_uri,
  claimHash: row.claim_hash,
  createdAt: new Date(fromDbMillis(row.created_at)),
  expiresAt: new Date(fromDbMillis(row.expires_at)),
});

export function createEnrolViewRepository(knex: Knex): EnrolViewRepository {
  return {
    async save(v) {
      await knex(table).insert({
        view_hash: v.viewHash,
        token_hash: v.tokenHash,
        server_id: v.serverId,
        sealed_uri: v.sealedUri,
        claim_hash: v.claimHash,
        created_at: v.createdAt.getTime(),
        expires_at: v.expiresAt.getTime(),
      });
    },
    async findByViewHash(viewHash) {
      const row = await knex<Row>(table).where({ view_hash: viewHash }).first();
      return row ? toDomain(row) : undefined;
    },
    async findByClaimHash(claimHash) {
      const row = await knex<Row>(table).where({ claim_hash: claimHash }).first();
      return row ? toDomain(row) : undefined;
    },
    async claim(viewHash, claimHash) {
      // The same conditional UPDATE as every one-time thing (DESIGN.md §6): the affected-row count decides.
      const affected: unknown = await knex(table)
        .where({ view_hash: viewHash })
        .whereNull('claim_hash')
        .update({ claim_hash: claimHash });
      return affected === 1;
    },
  };
}

// The URI is sealed with a key derived from the view token itself (not NEXTAUTH_SECRET_KEY): a copy of the
// database, even with the secret key, cannot show the QR; only whoever holds the page URL can.
const sealVersion = 'ev1';
const sealKey = (viewToken: string) =>
  Buffer.from(hkdfSync('sha256', viewToken, 'nextauth-enrol-view-v1', 'sealed-uri', 32));

export function sealUri(viewToken: string, viewHash: string, uri: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(viewToken), iv);
  // Bound to its row: a sealed value copied to another view does not open.
  cipher.setAAD(Buffer.from(`${sealVersion}\0${viewHash}`, 'utf8'));
  const body = Buffer.concat([cipher.update(uri, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${sealVersion}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** Undefined when the value does not open with this token (tampered, or not this view's). */
export function openUri(viewToken: string, viewHash: string, sealed: string): string | undefined {
  const [version, ivText = '', bodyText = ''] = sealed.split('.');
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (version !== sealVersion || iv.length !== 12 || body.length < 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(viewToken), iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(`${sealVersion}\0${viewHash}`, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
