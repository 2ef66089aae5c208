// What a service (NS, SFS, MC, IdP) receives from the runtime and hands back: the seam that lets one process
// host all of them (embedded) or just one (`nextauth serve <svc>`).
import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Clock, Random } from './clock.js';
import type { Config, ServiceName } from './config/index.js';
import type { GeoIp } from './geoip/index.js';
import type { MobileEndpoint, SocketEndpoint } from './http/mobile-sockets.js';
import type { Kv } from './kv/kv.js';
import type { Logger } from './logging.js';
import type { Metrics } from './metrics.js';
import type { Peers } from './peers.js';

export interface ServiceDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  random: Random;
  kv: Kv;
  db: Knex;
  /** Interfaces of the other services this process can reach (filled in dependency order). */
  peers: Peers;
  /** Coarse location of client addresses (NEXTAUTH_GEOIP_DB); absent: no database, as when it is unset. */
  geoip?: GeoIp;
}

export interface ServiceInstance {
  name: ServiceName;
  /** Public routes, mounted under the service's own prefix (`/ns`, `/sfs`, ...). */
  router?: Router;
  /** The service's secure-channel WebSocket endpoint for phones, if it has one. */
  mobile?: MobileEndpoint;
  /** Plain JSON WebSocket endpoints (NS business events). */
  sockets?: SocketEndpoint[];
  /** Runs after migrations and before the listener accepts traffic. */
  start?(): Promise<void>;
  close?(): Promise<void>;
  /** What this service offers the others (see peers.ts). */
  provides?: Peers;
}
