// Management of a virtual server's API keys: create (the secret is shown once, stored as SHA-256), list,
// revoke — with the minting rules (no key gets a role its creator lacks) and the audit record.
import type { Knex } from 'knex';
import { z } from 'zod';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import type { AuditRecorder } from '../audit/service.js';
import type { AdminActor } from '../servers/admin.js';
import type { VirtualServer } from '../servers/model.js';
import { sha256Hex } from '../sessions/secrets.js';
import { type ApiKeyRecord, type ApiPrincipal, type ApiRole, rolesSchema } from './model.js';
import { createApiKeyRepository } from './repository.js';
import { AccessDeniedError, hasRole } from './roles.js';

/** Active keys per virtual server: enough for every backend, and it bounds the listing. */
export const maxActiveKeysPerServer = 100;

/** Secrets carry a recognisable prefix so secret scanners (and people) can tell what leaked. */
export const apiKeySecretPrefix = 'nak_';

export const newApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200).describe('What the key is for, e.g. the backend that uses it'),
  roles: rolesSchema.describe('At least one; a key can never get a role its creator lacks'),
});
export type NewApiKey = z.input<typeof newApiKeySchema>;

export class ApiKeyLimitError extends Error {
  override name = 'ApiKeyLimitError';
  constructor() {
    super(`A virtual server may have at most ${maxActiveKeysPerServer} active API keys; revoke one first`);
  }
}

export interface ApiKeyAdminService {
  /**
   * Throws ZodError, AccessDeniedError `role_escalation` (a role the principal lacks, or `root` by a
   * non-root key) or ApiKeyLimitError; stores nothing then.
   */
  create(
    principal: ApiPrincipal,
    server: VirtualServer,
    input: NewApiKey,
    by: AdminActor,
  ): Promise<{ key: ApiKeyRecord; secret: string }>;
  list(server: VirtualServer): Promise<ApiKeyRecord[]>;
  /**
   * Returns false when the server has no such active key. Throws AccessDeniedError `role_escalation` when
   * the key holds a role the principal lacks (a weaker key cannot lock out a stronger one).
   */
  revoke(principal: ApiPrincipal, server: VirtualServer, id: string, by: AdminActor): Promise<boolean>;
}

/** Roles of `wanted` the principal may not hand out: those it lacks; `root` unless it holds `root`. */
function rolesBeyond(principal: ApiPrincipal, wanted: readonly ApiRole[]): ApiRole[] {
  return wanted.filter((role) =>
    role === 'root' ? !principal.roles.includes('root') : !hasRole(principal, role),
  );
}

export function createApiKeyAdminService(deps: {
  db: Knex;
  clock: Clock;
  random: Random;
  audit: AuditRecorder;
}): ApiKeyAdminService {
  const { db, clock, random, audit } = deps;

  const record = (
    trx: Knex.Transaction,
    type: 'apikey.created' | 'apikey.revoked',
    server: VirtualServer,
    key: ApiKeyRecord,
    by: AdminActor,
  ) => {
    return audit.record(
      {
        type,
        server: { id: server.id, name: server.name },
        ...by,
        subject: { kind: 'apikey', id: key.id },
        details: { name: key.name, roles: key.roles },
      },
      trx,
    );
  };

  return {
    async create(principal, server, input, by) {
      const parsed = newApiKeySchema.parse(input);
      const beyond = rolesBeyond(principal, parsed.roles);
      if (beyond.length > 0) {
        throw new AccessDeniedError(
          'role_escalation',
          `A key cannot create a key with roles it does not hold itself (${beyond.join(', ')})`,
        );
      }
      const secret = `${apiKeySecretPrefix}${randomToken(random, 32)}`;
      const key: ApiKeyRecord = {
        id: randomToken(random, 12),
        serverId: server.id,
        name: parsed.name,
        keyHash: sha256Hex(secret),
        roles: parsed.roles,
        createdAt: new Date(clock.now()),
        revokedAt: null,
        createdBy: principal.keyId,
      };
      await db.transaction(async (trx) => {
        const keys = createApiKeyRepository(trx);
        // Soft cap: concurrent creations may pass it by a few; it only bounds the listing.
        if ((await keys.countActive(server.id)) >= maxActiveKeysPerServer) throw new ApiKeyLimitError();
        await keys.save(key);
        await record(trx, 'apikey.created', server, key, by);
      });
      return { key, secret };
    },

    list: (server) => createApiKeyRepository(db).listActive(server.id),

    async revoke(principal, server, id, by) {
      return db.transaction(async (trx) => {
        const keys = createApiKeyRepository(trx);
        const key = await keys.findActiveById(id);
        if (!key || key.serverId !== server.id) return false;
        if (rolesBeyond(principal, key.roles).length > 0) {
          throw new AccessDeniedError(
            'role_escalation',
            'A key cannot revoke a key with roles it does not hold',
          );
        }
        // The conditional UPDATE decides between concurrent revocations: one records the event.
        if (!(await keys.revoke(id, server.id, clock.now()))) return false;
        await record(trx, 'apikey.revoked', server, { ...key, revokedAt: new Date(clock.now()) }, by);
        return true;
      });
    },
  };
}
