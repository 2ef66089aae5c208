// Wiring of the `/demo` relying party for the embedded runtime: the client registered, the RP, the routes.
import type Router from '@koa/router';
import type { Clock } from '../../auth-server/common/clock.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { ClientRepository } from '../oidc/clients.js';
import { issuerFor } from '../oidc/provider.js';
import { demoServer, ensureDemoClient } from './demo-client.js';
import { demoRouter } from './demo-routes.js';
import { createDemoRp } from './relying-party.js';

export interface DemoDeps {
  clients: ClientRepository;
  publicUrl: string;
  secretKey: string;
  clock: Clock;
  logger: Logger;
  /** This process's public listener as `http://host:port`, once it listens. */
  loopbackOrigin(): string;
}

/** Registers (or finds) the demo client and returns the `/demo` routes. */
export async function createDemo(deps: DemoDeps): Promise<Router> {
  const client = await ensureDemoClient(deps.clients, deps.publicUrl, deps.logger);
  const issuer = issuerFor(deps.publicUrl, demoServer);
  const rp = createDemoRp({ issuer, publicUrl: deps.publicUrl, client, loopbackOrigin: deps.loopbackOrigin });
  return demoRouter({
    rp,
    client,
    issuer,
    publicUrl: deps.publicUrl,
    secretKey: deps.secretKey,
    logger: deps.logger,
    now: () => deps.clock.now(),
  });
}

/** The address to reach a listener bound to `host` from the same machine. */
export function loopbackOriginFor(host: string, port: number): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return `http://127.0.0.1:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
