// MC app instances: registered by their channel key, with the key messages are sealed for and a push token.
import { calculateJwkThumbprint } from 'jose';
import type { Knex } from 'knex';
import type { PublicJwk } from '../../../protocol/index.js';
import type { PushProvider, PushRegistration } from '../../../protocol/mobile/mc.js';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { openString, seal } from '../../common/crypto/secret-box.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis } from '../../common/db/timestamps.js';

export const mcInstancesTable = 'mc_app_instances';

export interface McInstance {
  id: string;
  keyThumbprint: string;
  /** ECDH P-256 public key that senders seal messages for. */
  encryptionKey: PublicJwk;
  pushProvider: PushProvider;
  /** Per-instance limit of pending messages, when it differs from the service default. */
  maxPending: number | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  public_jwk: string;
  key_thumbprint: string;
  encryption_jwk: string;
  push_provider: string;
  sealed_push_token: string | null;
  max_pending: number | null;
  created_at: unknown;
  updated_at: unknown;
}

export interface RegisterInput {
  /** The key the channel handshake proved (never one from a request body). */
  publicJwk: PublicJwk;
  encryptionKey: PublicJwk;
  push: PushRegistration;
}

export interface McInstanceRepository {
  /**
   * Registers the key, or updates the instance already registered under it (encryption key and push
   * registration replaced; the id stays). Concurrent registrations of one key agree on one instance.
   */
  register(input: RegisterInput): Promise<McInstance>;
  find(id: string): Promise<McInstance | undefined>;
  findByThumbprint(thumbprint: string): Promise<McInstance | undefined>;
  /** The push registration with the token opened, for the senders; undefined: unknown id. */
  pushRegistration(id: string): Promise<PushRegistration | undefined>;
  /**
   * Drops the push registration (provider `none`) if it still holds `token`: a token the app registered
   * while the refused push was in flight stays. True when it cleared one.
   */
  clearPushToken(id: string, token: string): Promise<boolean>;
}

function toDomain(row: Row): McInstance {
  return {
    id: row.id,
    keyThumbprint: row.key_thumbprint,
    encryptionKey: JSON.parse(row.encryption_jwk) as PublicJwk,
    pushProvider: row.push_provider as PushProvider,
    maxPending: row.max_pending === null ? null : Number(row.max_pending),
    createdAt: fromDbMillis(row.created_at),
    updatedAt: fromDbMillis(row.updated_at),
  };
}

/** The token is bound to its instance: a sealed token copied to another row does not open. */
const tokenContext = (id: string) => `mc-push-token:${id}`;

export function createMcInstanceRepository(
  knex: Knex,
  clock: Clock,
  random: Random,
  secretKey: string,
): McInstanceRepository {
  const findRow = (where: Partial<Row>) => knex<Row>(mcInstancesTable).where(where).first();
  const pushColumns = (id: string, push: PushRegistration) => ({
    push_provider: push.provider,
    sealed_push_token: push.provider === 'none' ? null : seal(secretKey, tokenContext(id), push.token),
  });
  return {
    async register(input) {
      const thumbprint = await calculateJwkThumbprint(input.publicJwk, 'sha256');
      const now = clock.now();
      const existing = await findRow({ key_thumbprint: thumbprint });
      if (existing) {
        const changes = {
          encryption_jwk: JSON.stringify(input.encryptionKey),
          ...pushColumns(existing.id, input.push),
          updated_at: now,
        };
        await knex(mcInstancesTable).where({ id: existing.id }).update(changes);
        return toDomain({ ...existing, ...changes });
      }
      const id = randomToken(random, 16);
      const row: Row = {
        id,
        public_jwk: JSON.stringify(input.publicJwk),
        key_thumbprint: thumbprint,
        encryption_jwk: JSON.stringify(input.encryptionKey),
        ...pushColumns(id, input.push),
        max_pending: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(mcInstancesTable).insert(row);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Registered concurrently under the same key: update the winner's row instead.
        if (!(await findRow({ key_thumbprint: thumbprint }))) throw err;
        return this.register(input);
      }
      return toDomain(row);
    },
    async find(id) {
      const row = await findRow({ id });
      return row ? toDomain(row) : undefined;
    },
    async findByThumbprint(thumbprint) {
      const row = await findRow({ key_thumbprint: thumbprint });
      return row ? toDomain(row) : undefined;
    },
    async pushRegistration(id) {
      const row = await findRow({ id });
      if (!row) return undefined;
      if (row.push_provider === 'none' || row.sealed_push_token === null) return { provider: 'none' };
      const token = openString(secretKey, tokenContext(id), row.sealed_push_token);
      return { provider: row.push_provider as 'fcm' | 'apns', token };
    },
    async clearPushToken(id, token) {
      const row = await findRow({ id });
      if (!row || row.sealed_push_token === null) return false;
      if (openString(secretKey, tokenContext(id), row.sealed_push_token) !== token) return false;
      // Compare-and-set on the sealed value: a concurrent re-registration (a fresh seal) wins.
      const updated = await knex(mcInstancesTable)
        .where({ id, sealed_push_token: row.sealed_push_token })
        .update({ push_provider: 'none', sealed_push_token: null, updated_at: clock.now() });
      return updated === 1;
    },
  };
}
