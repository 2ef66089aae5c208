// Distributed mode: the peers a hosted service needs but this process does not host become HTTP clients of
// the same interfaces (auth-server/common/peers-http), and the peers this process provides are mounted at
// `/{svc}/internal/v1/...` for the others, behind NEXTAUTH_SERVICE_KEY.
import type Router from '@koa/router';
import { type Config, ConfigError, type ServiceName } from '../../auth-server/common/config/index.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { McPeer, NsPeer, Peers, SfsPeer } from '../../auth-server/common/peers.js';
import { createPeerClient } from '../../auth-server/common/peers-http/client.js';
import { peerRouter } from '../../auth-server/common/peers-http/server.js';
import { mcPeerTable, nsPeerTable, sfsPeerTable } from '../../auth-server/common/peers-http/tables.js';
import type { ServiceInstance } from '../../auth-server/common/service.js';
import { sessionCookieName } from '../../auth-server/ns/api/cookies.js';

type PeerName = keyof Peers & ServiceName;

/** Which peers each service calls (NS: attestation keys, server registration, MC posts; SFS: PIN lockouts). */
export const peerNeeds: Record<ServiceName, readonly PeerName[]> = {
  ns: ['sfs', 'mc'],
  sfs: ['ns'],
  mc: [],
  idp: ['ns'],
};

const urlVariable = (peer: PeerName) => `NEXTAUTH_${peer.toUpperCase()}_URL`;

/**
 * HTTP clients for the peers the hosted services need and this process lacks. In `serve` mode a needed peer
 * without a URL stops start-up naming the variable; embedded mode hosts every peer and uses a URL only when
 * one is configured (tests that host a subset run without).
 */
export function remotePeers(config: Config, hosted: readonly ServiceName[]): Peers {
  const distributed = config.mode === 'service';
  if (distributed && config.serviceKey === undefined) {
    // Without it the internal endpoints would be open to anyone who reaches the port.
    throw new ConfigError(
      'NEXTAUTH_SERVICE_KEY',
      'required for `serve` (distributed mode): the shared key of the internal service endpoints',
    );
  }
  const wanted = new Set(hosted.flatMap((s) => peerNeeds[s]).filter((p) => !hosted.includes(p)));
  const peers: Peers = {};
  for (const peer of wanted) {
    const baseUrl = config.peerUrls[peer];
    if (baseUrl === undefined || config.serviceKey === undefined) {
      if (!distributed) continue;
      throw new ConfigError(
        urlVariable(peer),
        `required for \`serve ${hosted.join(' ')}\`: the base URL of the ${peer.toUpperCase()} service`,
      );
    }
    const common = { baseUrl, serviceKey: config.serviceKey };
    if (peer === 'sfs') peers.sfs = sfsClient(config, common);
    if (peer === 'ns') peers.ns = nsClient(config, common);
    if (peer === 'mc') peers.mc = createPeerClient<McPeer>({ service: 'mc', table: mcPeerTable, ...common });
  }
  return peers;
}

/**
 * The SFS issuer is `{public URL}/sfs` and every service of a deployment shares NEXTAUTH_PUBLIC_URL, so
 * the synchronous `issuer` needs no call (and NS can start before the SFS answers).
 */
function sfsClient(config: Config, common: { baseUrl: string; serviceKey: string }): SfsPeer {
  const remote = createPeerClient<SfsPeer>({ service: 'sfs', table: sfsPeerTable, ...common });
  return { ...remote, issuer: `${config.publicUrl}/sfs` };
}

/**
 * `browserSessionCookieName` stays local: it is synchronous and follows from the server name and whether the
 * shared public URL is https, exactly as NS's browser endpoints name the cookie.
 */
function nsClient(config: Config, common: { baseUrl: string; serviceKey: string }): NsPeer {
  const remote = createPeerClient<NsPeer>({ service: 'ns', table: nsPeerTable, ...common });
  const secure = config.publicUrl.startsWith('https:');
  return { ...remote, browserSessionCookieName: (server) => sessionCookieName(server, secure) };
}

/** Internal routers of the peers this process provides; none without a service key (embedded default). */
export function internalRouters(config: Config, instances: ServiceInstance[], logger: Logger): Router[] {
  if (config.serviceKey === undefined) return [];
  const acceptedKeys = config.acceptedServiceKeys;
  const routers: Router[] = [];
  const log = logger.child({ component: 'peers-http' });
  for (const instance of instances) {
    const provided = instance.provides;
    if (instance.name === 'ns' && provided?.ns)
      routers.push(
        peerRouter({
          service: 'ns',
          table: nsPeerTable,
          implementation: provided.ns,
          acceptedKeys,
          logger: log,
        }),
      );
    if (instance.name === 'sfs' && provided?.sfs)
      routers.push(
        peerRouter({
          service: 'sfs',
          table: sfsPeerTable,
          implementation: provided.sfs,
          acceptedKeys,
          logger: log,
        }),
      );
    if (instance.name === 'mc' && provided?.mc)
      routers.push(
        peerRouter({
          service: 'mc',
          table: mcPeerTable,
          implementation: provided.mc,
          acceptedKeys,
          logger: log,
        }),
      );
  }
  return routers;
}
