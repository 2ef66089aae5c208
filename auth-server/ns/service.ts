// NS as a service instance: owns virtual servers (and, as they land, users, accounts and sessions).
import type { ServiceDeps, ServiceInstance } from '../common/service.js';
import { createVirtualServerRepository } from './servers/repository.js';

export const defaultServerName = 'default';

export function createNsService(deps: ServiceDeps): ServiceInstance {
  const servers = createVirtualServerRepository(deps.db, deps.clock);
  return {
    name: 'ns',
    async start() {
      // Embedded mode is the zero-setup demo: it needs a virtual server to log in to.
      if (deps.config.mode === 'embedded') {
        await servers.ensure({ name: defaultServerName, displayName: 'nextAuth' });
      }
    },
  };
}
