// NS API keys: who may call the REST API, on which virtual server, with which roles.
import { z } from 'zod';

/** Role names are free-form for now; issue #6 fixes the set (e.g. sessions, users, admin). */
export const rolesSchema = z.array(z.string().min(1).max(64)).max(32);

/** The caller an accepted `X-apikey` stands for. */
export interface ApiPrincipal {
  /** `root` for the configured root key, otherwise the stored key's id. */
  keyId: string;
  /** null: every virtual server (root keys). */
  serverId: string | null;
  roles: string[];
}

export interface ApiKeyRecord {
  id: string;
  serverId: string | null;
  name: string;
  keyHash: string;
  roles: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

/** True when the principal may act on the given virtual server. */
export function mayActOn(principal: ApiPrincipal, serverId: string): boolean {
  return principal.serverId === null || principal.serverId === serverId;
}
