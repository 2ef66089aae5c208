// NS API keys: who may call the REST API, on which virtual server, with which roles.
import { z } from 'zod';

/**
 * The fixed set of roles (docs/decisions.md, "Roles and API keys"): each names the part of the REST API a key
 * may use. `root` is every role; the configured root key holds it on every virtual server.
 */
export const apiRoles = ['sessions', 'users', 'accounts', 'servers', 'audit', 'root'] as const;
export const apiRoleSchema = z.enum(apiRoles);
export type ApiRole = z.output<typeof apiRoleSchema>;

/** Roles as written: known names only, no duplicates. */
export const rolesSchema = z
  .array(apiRoleSchema)
  .min(1)
  .max(apiRoles.length)
  .refine((roles) => new Set(roles).size === roles.length, 'roles must not repeat');

/** Roles as read back: names a newer version may have stored are dropped, never widened into access. */
export const storedRolesSchema = z
  .array(z.string())
  .transform((roles) => roles.filter((r): r is ApiRole => (apiRoles as readonly string[]).includes(r)));

/** The caller an accepted `X-apikey` stands for. */
export interface ApiPrincipal {
  /** `root` for the configured root key, otherwise the stored key's id. */
  keyId: string;
  /** null: every virtual server (root keys). */
  serverId: string | null;
  roles: ApiRole[];
  /** Set when the root key acts as this stored key (`X-su`): who really called. */
  impersonatedBy?: 'root';
}

export interface ApiKeyRecord {
  id: string;
  serverId: string | null;
  name: string;
  keyHash: string;
  roles: ApiRole[];
  createdAt: Date;
  revokedAt: Date | null;
  /** Key id of the principal that created it (`root` for the root key); null for keys from before #6. */
  createdBy?: string | null;
}

/** True when the principal may act on the given virtual server. */
export function mayActOn(principal: ApiPrincipal, serverId: string): boolean {
  return principal.serverId === null || principal.serverId === serverId;
}
