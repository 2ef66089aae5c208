// Checks a presented `X-apikey`: the configured root key (constant time), then stored keys by hash.
import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../sessions/secrets.js';
import type { ApiPrincipal } from './model.js';
import type { ApiKeyRepository } from './repository.js';

export interface ApiKeyVerifier {
  /** The principal, or undefined for a missing, unknown or revoked key. */
  verify(presented: string | undefined): Promise<ApiPrincipal | undefined>;
  /** The stored, unrevoked key `keyId` as root acting for it (`X-su`), or undefined. */
  impersonate(keyId: string): Promise<ApiPrincipal | undefined>;
}

/** Presented keys longer than this are refused unread (no real key is anywhere near it). */
const maxKeyLength = 512;

/** The configured root key: every role on every virtual server. */
export const rootPrincipal = (): ApiPrincipal => ({ keyId: 'root', serverId: null, roles: ['root'] });

export function createApiKeyVerifier(options: {
  rootApiKey: string | undefined;
  repository: ApiKeyRepository;
}): ApiKeyVerifier {
  // Comparing fixed-length digests keeps the comparison's time independent of the key and its length.
  const rootDigest =
    options.rootApiKey === undefined ? undefined : Buffer.from(sha256Hex(options.rootApiKey), 'hex');
  return {
    async verify(presented) {
      if (presented === undefined || presented.length === 0 || presented.length > maxKeyLength) return;
      const hash = sha256Hex(presented);
      if (rootDigest && timingSafeEqual(Buffer.from(hash, 'hex'), rootDigest)) {
        return rootPrincipal();
      }
      // A lookup by the hash of a high-entropy key leaks nothing useful through timing.
      const stored = await options.repository.findActiveByHash(hash);
      if (!stored) return;
      return { keyId: stored.id, serverId: stored.serverId, roles: stored.roles };
    },

    async impersonate(keyId) {
      const stored = await options.repository.findActiveById(keyId);
      if (!stored) return;
      return { keyId: stored.id, serverId: stored.serverId, roles: stored.roles, impersonatedBy: 'root' };
    },
  };
}
