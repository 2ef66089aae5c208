// NS as a service instance: owns virtual servers, login sessions and API keys (users and accounts to come).
import type { ServiceDeps, ServiceInstance } from '../common/service.js';
import { createNsRouter } from './api/router.js';
import { createApiKeyRepository } from './apikeys/repository.js';
import { createApiKeyVerifier } from './apikeys/verify.js';
import { createVirtualServerRepository } from './servers/repository.js';
import { createSessionService, type SessionService } from './sessions/service.js';

export const defaultServerName = 'default';

export interface NsServiceInstance extends ServiceInstance {
  /** For in-process callers (the IdP login page, the phone-side endpoint) in embedded mode. */
  sessions: SessionService;
}

export function createNsService(deps: ServiceDeps): NsServiceInstance {
  const servers = createVirtualServerRepository(deps.db, deps.clock, deps.random);
  const sessions = createSessionService({
    db: deps.db,
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    servers,
    publicUrl: deps.config.publicUrl,
  });
  const apiKeys = createApiKeyVerifier({
    rootApiKey: deps.config.nsRootApiKey,
    repository: createApiKeyRepository(deps.db),
  });
  const router = createNsRouter({
    sessions,
    servers,
    apiKeys,
    kv: deps.kv,
    clock: deps.clock,
    logger: deps.logger,
    publicUrl: deps.config.publicUrl,
  });
  return {
    name: 'ns',
    router,
    sessions,
    async start() {
      // Embedded mode is the zero-setup demo: it needs a virtual server to log in to.
      if (deps.config.mode === 'embedded') {
        await servers.ensure({ name: defaultServerName, displayName: 'nextAuth' });
      }
    },
  };
}
