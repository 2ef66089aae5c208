// Management of virtual servers (REST `/ns/api/v2/servers`): create, update, delete with the audit record
// and the SFS registration of the PIN policy in the same transaction, so none of the three happens alone.
import type { Knex } from 'knex';
import { nsServerId } from '../../../protocol/mobile/common.js';
import type { Logger } from '../../common/logging.js';
import type { SfsPeer } from '../../common/peers.js';
import type { AuditContext, AuditDetails } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { NewVirtualServer, Policy, VirtualServer, VirtualServerPatch } from './model.js';
import type { VirtualServerRepository } from './repository.js';

export type ServerAdminErrorCode = 'protected_server' | 'sfs_unavailable';

export class ServerAdminError extends Error {
  override name = 'ServerAdminError';
  constructor(
    readonly code: ServerAdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Who acts, from where (with X-su: the root key, acting as the stored key in `actingAs`). */
export type AdminActor = AuditContext;

export interface ServerAdminService {
  list(): Promise<VirtualServer[]>;
  /** Throws NotFoundError. */
  get(name: string): Promise<VirtualServer>;
  /** Throws ZodError, ConflictError (name taken) or ServerAdminError `sfs_unavailable`; stores nothing then. */
  create(input: NewVirtualServer, by: AdminActor): Promise<VirtualServer>;
  /** Throws NotFoundError, ZodError or ServerAdminError `sfs_unavailable`; changes nothing then. */
  update(name: string, patch: VirtualServerPatch, by: AdminActor): Promise<VirtualServer>;
  /**
   * Deletes the server with its sessions, accounts, enrol tokens and API keys. Throws NotFoundError, or
   * ServerAdminError `protected_server` for a server this deployment re-creates at start.
   */
  delete(name: string, by: AdminActor): Promise<void>;
  /** Registers every server's PIN policy at the SFS (idempotent; at start). */
  syncAll(): Promise<void>;
}

export interface ServerAdminDeps {
  repository: VirtualServerRepository;
  /** Absent in a process without an SFS interface (`serve ns` today): policies are then stored only. */
  sfs: SfsPeer | undefined;
  audit: AuditRecorder;
  logger: Logger;
  publicUrl: string;
  /** Names that may not be deleted (embedded mode's `default`). */
  protectedNames?: readonly string[];
}

/** The members of the NS policy the SFS enforces (its names). */
export function sfsPolicyOf(policy: Policy) {
  return {
    maxAttempts: policy.pinAttempts,
    lockoutSeconds: policy.lockoutSeconds,
    maxLockoutSeconds: policy.maxLockoutSeconds,
    blockAfterLockouts: policy.blockAfterLockouts,
  };
}

const sfsFields = ['pinAttempts', 'lockoutSeconds', 'maxLockoutSeconds', 'blockAfterLockouts'] as const;

/** Which top-level fields (and policy keys as `policy.key`) a patch changed. */
function changedFields(before: VirtualServer, after: VirtualServer): string[] {
  const changed: string[] = [];
  if (before.displayName !== after.displayName) changed.push('displayName');
  if (before.logo !== after.logo) changed.push('logo');
  if (JSON.stringify(before.allowedApps) !== JSON.stringify(after.allowedApps)) changed.push('allowedApps');
  for (const key of ['accentLight', 'accentDark', 'appLink', 'recoveryCodes'] as const) {
    if (before[key] !== after[key]) changed.push(key);
  }
  for (const key of Object.keys(after.policy) as (keyof Policy)[]) {
    if (before.policy[key] !== after.policy[key]) changed.push(`policy.${key}`);
  }
  return changed;
}

export function createServerAdminService(deps: ServerAdminDeps): ServerAdminService {
  const { repository, sfs, audit, logger, publicUrl } = deps;
  const protectedNames = new Set(deps.protectedNames ?? []);

  const register = async (server: VirtualServer) => {
    if (!sfs) {
      logger.warn(
        { server: server.name },
        'PIN policy not sent to an SFS: this process has no SFS interface',
      );
      return;
    }
    try {
      await sfs.registerServer({
        id: nsServerId(publicUrl, server.name),
        policy: sfsPolicyOf(server.policy),
      });
    } catch (err) {
      logger.error({ err, server: server.name }, 'SFS refused the server registration');
      throw new ServerAdminError(
        'sfs_unavailable',
        'The SFS did not take the PIN policy; nothing was changed',
      );
    }
  };

  const record = (
    trx: Knex.Transaction,
    type: 'server.created' | 'server.updated' | 'server.deleted',
    server: VirtualServer,
    by: AdminActor,
    details: AuditDetails,
  ) => {
    return audit.record(
      {
        type,
        server: { id: server.id, name: server.name },
        ...by,
        subject: { kind: 'server', id: server.name },
        details,
      },
      trx,
    );
  };

  return {
    list: () => repository.list(),
    get: (name) => repository.getByName(name),

    create(input, by) {
      return repository.create(input, {
        async inTransaction(server, trx) {
          await record(trx, 'server.created', server, by, { displayName: server.displayName });
          await register(server);
        },
      });
    },

    update(name, patch, by) {
      return repository.update(name, patch, {
        async inTransaction(server, trx, before = server) {
          const changed = changedFields(before, server);
          await record(trx, 'server.updated', server, by, { changed });
          // Only a change the SFS enforces goes there; display name and logo are NS-only.
          if (changed.some((c) => sfsFields.some((f) => c === `policy.${f}`))) await register(server);
        },
      });
    },

    async delete(name, by) {
      if (protectedNames.has(name)) {
        throw new ServerAdminError(
          'protected_server',
          `"${name}" is re-created at every start of embedded mode and cannot be deleted`,
        );
      }
      await repository.delete(name, {
        inTransaction: async (server, trx) => {
          await record(trx, 'server.deleted', server, by, {});
        },
      });
    },

    async syncAll() {
      if (!sfs) return;
      for (const server of await repository.list()) await register(server);
    },
  };
}
