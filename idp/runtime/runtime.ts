// Composition root: builds the shared infrastructure, the requested services and the listeners, and tears
// them down in reverse order. Embedded mode hosts every service; `serve <svc>` hosts one.
import { mkdir } from 'node:fs/promises';
import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { type Clock, type Random, systemClock, systemRandom } from '../../auth-server/common/clock.js';
import { ensureGeneratedSecrets } from '../../auth-server/common/config/generated-secrets.js';
import type { Config, ServiceName } from '../../auth-server/common/config/index.js';
import { nodeCrypto } from '../../auth-server/common/crypto/node-crypto.js';
import { openDb } from '../../auth-server/common/db/connect.js';
import { pingDb } from '../../auth-server/common/db/health.js';
import { migrateLatest, migrationStatus } from '../../auth-server/common/db/migrate.js';
import { openGeoIp } from '../../auth-server/common/geoip/index.js';
import { createAdminApp, type ReadinessCheck } from '../../auth-server/common/http/admin.js';
import { createHttpApp } from '../../auth-server/common/http/app.js';
import { attachMobileSockets } from '../../auth-server/common/http/mobile-sockets.js';
import { configuredOutboundClient } from '../../auth-server/common/http/outbound-config.js';
import { type Listener, listen } from '../../auth-server/common/http/server.js';
import { subscribeNsSessionEnds } from '../../auth-server/common/idp-session-ends.js';
import { createKv } from '../../auth-server/common/kv/index.js';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import type { Logger } from '../../auth-server/common/logging.js';
import { createMetrics, type Metrics } from '../../auth-server/common/metrics.js';
import type { Peers } from '../../auth-server/common/peers.js';
import type { ServiceDeps, ServiceInstance } from '../../auth-server/common/service.js';
import { createMcService } from '../../auth-server/mc/service.js';
import { createNsService } from '../../auth-server/ns/service.js';
import { createSfsService } from '../../auth-server/sfs/service.js';
import { setDefaultCrypto } from '../../protocol/crypto.js';
import { createIdpApiRouter } from '../api/router.js';
import { createDemo, loopbackOriginFor } from '../demo/demo.js';
import { forwardAuthHosts } from '../forward-auth/return-url.js';
import { forwardAuthMiddleware } from '../forward-auth/router.js';
import { fixedRules, loadRulesFile, type RulesSource } from '../forward-auth/rules-file.js';
import { devicePagesRouter } from '../interaction/device-pages.js';
import { enrolRouter } from '../interaction/enrol-routes.js';
import { loginRouter } from '../interaction/login-routes.js';
import { logoutRouter } from '../interaction/logout-routes.js';
import { createNsLoginCollector } from '../interaction/ns-login.js';
import { staticAssetsRouter } from '../interaction/static-assets.js';
import { createOidcFrontDoor, type OidcFrontDoor } from '../oidc/front-door.js';
import { createSamlFrontDoor, type SamlFrontDoor } from '../saml/front-door.js';
import { metadataOutboundClient } from '../saml/metadata-fetch.js';
import { announceSessionEnded, subscribeSessionEnded } from '../session/live-cache.js';
import { returnToPolicy } from '../session/return-to.js';
import { createIdpSessionService, type IdpSessionService } from '../session/service.js';
import { homeRouter } from './home.js';
import { internalRouters, remotePeers } from './remote-peers.js';
import { embeddedSdkConfig, sdkConfigRouter } from './sdk-config-route.js';

const factories: Partial<Record<ServiceName, (deps: ServiceDeps) => ServiceInstance>> = {
  ns: createNsService,
  sfs: createSfsService,
  mc: createMcService,
};

const startOrder: readonly ServiceName[] = ['sfs', 'mc', 'ns', 'idp'];

export interface RuntimeOptions {
  config: Config;
  logger: Logger;
  services: readonly ServiceName[];
  clock?: Clock;
  random?: Random;
}

export interface Runtime {
  config: Config;
  publicListener: Listener;
  adminListener: Listener;
  metrics: Metrics;
  kv: Kv;
  dbs: Partial<Record<ServiceName, Knex>>;
  /** What the hosted services offer each other in-process (e.g. the MC peer that NS posts through). */
  peers: Peers;
  /** The IdP sessions shared by the front doors (DESIGN.md §4), when the IdP runs here. */
  idpSessions?: IdpSessionService;
  /** Graceful stop: readiness goes false, in-flight requests finish, then pools close. */
  close(): Promise<void>;
}

/** Raised when a service's database is behind and this process may not migrate it. */
export class PendingMigrationsError extends Error {
  constructor(
    readonly service: ServiceName,
    readonly pending: string[],
  ) {
    super(
      `${service} database has ${pending.length} pending migration(s); run \`nextauth migrate\` or set NEXTAUTH_${service.toUpperCase()}_DB_ENABLE_MIGRATIONS=true`,
    );
    this.name = 'PendingMigrationsError';
  }
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  // Every channel, seal and signature of this process on node:crypto's primitives (docs/benchmarks.md).
  setDefaultCrypto(nodeCrypto());
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  if (config.mode === 'embedded') await ensureGeneratedSecrets(config, random);
  // Peers this process does not host are HTTP clients (distributed mode); checked before anything connects.
  const peers: Peers = remotePeers(config, options.services);
  // Read once, before anything connects: a missing or damaged file stops start-up naming NEXTAUTH_GEOIP_DB.
  const geoip = options.services.includes('ns') ? openGeoIp(config.geoipDb, { logger }) : undefined;
  // Read before anything connects: a bad rules file stops start-up naming NEXTAUTH_FORWARD_AUTH_RULES.
  const forwardAuthRules: RulesSource | undefined = options.services.includes('idp')
    ? config.forwardAuthRules
      ? loadRulesFile(config.forwardAuthRules, { logger })
      : fixedRules()
    : undefined;
  const metrics = createMetrics();
  const kv = createKv(config.kvUri, {
    clock,
    prefix: config.kvPrefix,
    onError: (err) => logger.warn({ err }, 'kv connection error'),
    // A throwing subscriber must not take the process down; log it where operators look.
    onHandlerError: (err, channel) => logger.error({ err, channel }, 'kv subscriber failed'),
  });
  const dbs: Partial<Record<ServiceName, Knex>> = {};
  const instances: ServiceInstance[] = [];
  const cleanup = async () => {
    for (const instance of instances.reverse()) await instance.close?.();
    await Promise.all(Object.values(dbs).map((db) => db.destroy()));
    await kv.close();
  };
  let sdkConfig: Awaited<ReturnType<typeof embeddedSdkConfig>>;
  try {
    // Providers first: NS uses the SFS's and the MC's interfaces.
    const ordered = startOrder.filter((s) => options.services.includes(s));
    for (const service of ordered) {
      const db = openDb({ uri: config.db[service].uri, dataDir: config.dataDir, service });
      dbs[service] = db;
      if (config.db[service].migrate) {
        await migrateLatest(db, service);
      } else {
        const status = await migrationStatus(db, service);
        if (status.pending.length > 0) throw new PendingMigrationsError(service, status.pending);
      }
      const factory = factories[service];
      if (factory) {
        const instance = factory({
          config,
          logger: logger.child({ svc: service }),
          metrics,
          clock,
          random,
          kv,
          db,
          peers,
          geoip,
        });
        instances.push(instance);
        await instance.start?.();
        Object.assign(peers, instance.provides);
      }
    }
    // The demo app's signed SDK configuration, pointing at this process's own SFS (embedded only).
    if (config.mode === 'embedded') sdkConfig = await embeddedSdkConfig({ config, clock, instances });
  } catch (err) {
    await cleanup();
    throw err;
  }

  // Hot endpoints answered ahead of the common middleware and the routers (see createHttpApp).
  const front: Middleware[] = [];
  // Set once the public listener is up (its port may be chosen by the system).
  let loopbackOrigin = loopbackOriginFor(config.host, config.port);
  const root = new Router();
  if (config.mode === 'embedded') root.use(homeRouter(config).routes());
  if (sdkConfig) root.use(sdkConfigRouter(sdkConfig).routes());
  let oidc: OidcFrontDoor | undefined;
  let saml: SamlFrontDoor | undefined;
  // The one IdP session per browser and server that every front door (OIDC, SAML, forward-auth) shares.
  const idpSessions = dbs.idp
    ? createIdpSessionService({
        knex: dbs.idp,
        clock,
        random,
        logger,
        publicUrl: config.publicUrl,
        cookieDomain: config.cookieDomain,
        idleSeconds: config.idpSession.idleSeconds,
        maxSeconds: config.idpSession.maxSeconds,
        // Forward-auth reads the session for every request: live rows are reused for a few seconds, and an
        // end on any instance drops them everywhere at once through the KV bus.
        liveCache: { ttlMs: 5_000, announceEnd: (id) => announceSessionEnded(kv, id) },
        // Starts and ends go to NS's audit log, the one log of who was logged in where.
        recordEvent: async (event) => {
          await peers.ns?.recordIdpSessionEvent(event);
        },
        afterEnd: async (session, cause, ctx) => {
          // The browser's NS login session ends with it, so the phone's app is told (not when NS itself
          // ended it, nor when a new login of this browser replaced the session). Only the browser that
          // asked holds the NS cookie; an end without it (another front door's back channel) cannot.
          const ns = peers.ns;
          if (!ns || !ctx || cause === 'ns_logout' || cause === 'replaced') return;
          const nonce = ctx.cookies.get(ns.browserSessionCookieName(session.server), { signed: false });
          if (nonce) await ns.endBrowserSession(session.server, nonce, 'idp-session');
        },
      })
    : undefined;
  const idpSessionSweep = idpSessions
    ? setInterval(() => {
        idpSessions.sweep().catch((err: unknown) => logger.warn({ err }, 'IdP session sweep failed'));
      }, 600_000).unref()
    : undefined;
  // NS → IdP (auth-server/common/idp-session-ends.ts): an NS logout or a deleted account ends the IdP
  // sessions made from it. Every instance hears it; the atomic end runs the handlers once.
  const stopSessionEnded = idpSessions
    ? await subscribeSessionEnded(kv, (id) => idpSessions.forget(id))
    : undefined;
  const stopNsEnds =
    idpSessions && options.services.includes('idp')
      ? await subscribeNsSessionEnds(kv, (end) => {
          idpSessions.endFromNs(end).then(
            (found) => {
              if (found > 0)
                logger.info({ cause: end.cause, server: end.server, found }, 'IdP sessions ended by NS');
            },
            (err: unknown) => logger.error({ err, cause: end.cause }, 'IdP sessions not ended on NS event'),
          );
        })
      : undefined;
  if (options.services.includes('idp')) {
    // Log in, then go back: the login page of the front doors that are not OIDC (SAML, forward-auth).
    const frontDoor =
      idpSessions && peers.ns && dbs.idp
        ? {
            idpSessions,
            collector: createNsLoginCollector({ ns: peers.ns, knex: dbs.idp, clock }),
            ns: peers.ns,
            // Forward-auth sends browsers back to the protected hosts under the cookie domain.
            returnTo: returnToPolicy({
              publicUrl: config.publicUrl,
              allowHost: forwardAuthHosts({ publicUrl: config.publicUrl, cookieDomain: config.cookieDomain }),
            }),
            clock,
            logger,
          }
        : undefined;
    root.use(
      loginRouter({ defaultServer: 'default', frontDoor }).routes(),
      devicePagesRouter().routes(),
      staticAssetsRouter().routes(),
    );
    root.use(enrolRouter().routes());
    if (idpSessions)
      root.use(
        logoutRouter({
          idpSessions,
          publicUrl: config.publicUrl,
          logger,
          ...(frontDoor ? { returnTo: frontDoor.returnTo } : {}),
          // The SAML front door is made further down; a chain only exists once it is.
          resumeFrontChannel: async (ctx) => saml?.resumeLogout(ctx),
        }).routes(),
      );
    // Forward-auth (DESIGN.md §5) reads the IdP session and the NS user through the NS peer. It answers every
    // request of every protected app: in front, with a path test of its own instead of matching every route
    // of `root`, and its own metrics instead of the per-route ones.
    if (peers.ns && idpSessions && forwardAuthRules) {
      front.push(
        forwardAuthMiddleware({
          publicUrl: config.publicUrl,
          cookieDomain: config.cookieDomain,
          sessions: idpSessions,
          ns: peers.ns,
          rules: forwardAuthRules,
          clock,
          logger,
          metrics,
        }),
      );
    } else {
      logger.warn('forward-auth off: it needs the NS peer and the IdP database');
    }
    // The OIDC front door reads NS login sessions through the NS peer: in-process, or over HTTP (`serve idp`).
    if (peers.ns && dbs.idp && config.secretKey !== undefined) {
      const outbound = configuredOutboundClient(config.outboundAllow);
      oidc = createOidcFrontDoor({
        publicUrl: config.publicUrl,
        secretKey: config.secretKey,
        trustProxy: config.trustProxy,
        knex: dbs.idp,
        storage: config.oidcStorage === 'kv' ? { kind: 'kv', kv } : { kind: 'sql' },
        ns: peers.ns,
        outbound,
        resources: config.oidcResources,
        kv,
        ...(idpSessions ? { idpSessions } : {}),
        clock,
        random,
        logger,
      });
      root.use(oidc.router.routes());
      // The demo relying party (`/demo`) of embedded mode; it reaches the IdP through this process's listener.
      if (config.mode === 'embedded') {
        const demo = await createDemo({
          clients: oidc.registry.clients,
          publicUrl: config.publicUrl,
          secretKey: config.secretKey,
          clock,
          logger,
          loopbackOrigin: () => loopbackOrigin,
        }).catch(async (err) => {
          await oidc?.close();
          await saml?.close();
          await cleanup();
          throw err;
        });
        root.use(demo.routes());
      }
      // The SAML front door shares the IdP session (SSO with OIDC) and the QR login page.
      if (idpSessions) {
        saml = createSamlFrontDoor({
          publicUrl: config.publicUrl,
          secretKey: config.secretKey,
          knex: dbs.idp,
          ns: peers.ns,
          sessions: idpSessions,
          clock,
          random,
          logger,
        });
        root.use(saml.router.routes());
      }
      // The IdP management API (DESIGN.md §5): keys checked and changes audited by NS through the peer.
      const idpApi = createIdpApiRouter({
        publicUrl: config.publicUrl,
        ns: peers.ns,
        clients: oidc.registry.clients,
        keys: oidc.registry.keys,
        outbound,
        ...(saml && {
          sps: saml.sps,
          samlKeys: saml.keys,
          metadataFetch: metadataOutboundClient(config.outboundAllow),
        }),
      });
      root.use(idpApi.routes(), idpApi.allowedMethods());
    } else {
      logger.warn('OIDC front door off: it needs NS (in-process or NEXTAUTH_NS_URL) and NEXTAUTH_SECRET_KEY');
    }
  }
  // Before the services' own routers, so `/{svc}/internal/...` never falls through to them.
  for (const internal of internalRouters(config, instances, logger)) root.use(internal.routes());
  for (const instance of instances) {
    if (instance.router)
      root.use(`/${instance.name}`, instance.router.routes(), instance.router.allowedMethods());
  }
  const app = createHttpApp({ logger, metrics, proxy: config.trustProxy, front });
  app.use(root.routes()).use(root.allowedMethods());
  // After the routers: `/oidc/{server}/...` that no route claimed goes to that server's provider.
  if (oidc) app.use(oidc.middleware);

  let accepting = true;
  const checks = (): ReadinessCheck[] => [
    ...Object.entries(dbs).map(([name, db]) => ({ name: `db:${name}`, check: () => pingDb(db) })),
    { name: 'kv', check: () => kv.ping() },
  ];
  const admin = createAdminApp({ logger, metrics, checks, accepting: () => accepting });
  const publicListener = await listen(app.callback(), config.port, config.host).catch(async (err) => {
    await oidc?.close();
    await saml?.close();
    await cleanup();
    throw err;
  });
  loopbackOrigin = loopbackOriginFor(config.host, publicListener.port);
  const mobileSockets = attachMobileSockets(
    publicListener.server,
    instances.flatMap((i) => (i.mobile ? [i.mobile] : [])),
    {
      logger,
      trustProxy: config.trustProxy,
      accepting: () => accepting,
      sockets: instances.flatMap((i) => i.sockets ?? []),
    },
  );
  const adminListener = await listen(admin.callback(), config.adminPort, config.adminHost).catch(
    async (err) => {
      await publicListener.close(0);
      await cleanup();
      throw err;
    },
  );

  let closed: Promise<void> | undefined;
  return {
    config,
    publicListener,
    adminListener,
    metrics,
    kv,
    dbs,
    peers,
    idpSessions,
    close() {
      closed ??= (async () => {
        accepting = false;
        clearInterval(idpSessionSweep);
        await stopNsEnds?.();
        await stopSessionEnded?.();
        forwardAuthRules?.close();
        logger.info({ inFlight: publicListener.inFlight() }, 'shutting down');
        // Phones reconnect to another instance; their channels cannot be drained like HTTP requests.
        await mobileSockets.close();
        await publicListener.close(config.shutdownTimeoutMs);
        await adminListener.close(1000);
        await oidc?.close();
        await saml?.close();
        await cleanup();
        logger.info('stopped');
      })();
      return closed;
    },
  };
}
