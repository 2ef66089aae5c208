// NS as a service instance: owns virtual servers, accounts, login sessions and API keys, and `/ns/mobile`.
import { ConfigError, settings } from '../common/config/index.js';
import { noGeoIp } from '../common/geoip/index.js';
import { configuredOutboundClient } from '../common/http/outbound-config.js';
import type { ServiceDeps, ServiceInstance } from '../common/service.js';
import { createAccountAdminService } from './accounts/admin.js';
import { createEnrolTokenRepository } from './accounts/enrol-tokens.js';
import { createAccountRepository } from './accounts/repository.js';
import { type AccountService, createAccountService } from './accounts/service.js';
import { createNsRouter } from './api/router.js';
import { createApiKeyAdminService } from './apikeys/admin.js';
import { createApiKeyRepository } from './apikeys/repository.js';
import { createApiKeyVerifier } from './apikeys/verify.js';
import { createAttestationChecker } from './attestation/check.js';
import { createAuditService } from './audit/service.js';
import { createIdpSessionEnds } from './events/idp-session-ends.js';
import { createBusinessEvents, withBusinessEvents } from './events/service.js';
import { createEventSocketEndpoint } from './events/socket.js';
import { createMobileLoginService } from './logins/service.js';
import { createSweeper } from './maintenance/sweeper.js';
import { createNsMobileEndpoint } from './mobile/endpoint.js';
import { createNsPeer } from './peer.js';
import { createMcDelivery } from './push/deliver.js';
import { createPushRepository } from './push/repository.js';
import { createReturningUserCookies } from './push/returning-user.js';
import { createPushService, type PushService } from './push/service.js';
import { createRecoveryService } from './recovery/service.js';
import { createServerAdminService } from './servers/admin.js';
import { createServerIdentityService, type ServerIdentityService } from './servers/identity.js';
import { createVirtualServerRepository } from './servers/repository.js';
import { createSessionRepository } from './sessions/repository.js';
import { createSessionService, type SessionService } from './sessions/service.js';
import { announceAnswers } from './transactions/answers.js';
import { createCibaTransactions } from './transactions/ciba.js';
import { createTransactionRepository } from './transactions/repository.js';
import { createTransactionService } from './transactions/service.js';
import { createUserRepository } from './users/repository.js';
import { createUserService } from './users/service.js';
import { createWebhookDispatcher } from './webhooks/dispatcher.js';
import { createWebhookRepository } from './webhooks/repository.js';
import { createWebhookService } from './webhooks/service.js';

export const defaultServerName = 'default';

export interface NsServiceInstance extends ServiceInstance {
  /** For in-process callers (the IdP login page, the phone-side endpoint) in embedded mode. */
  sessions: SessionService;
  accounts: AccountService;
  identities: ServerIdentityService;
}

export function createNsService(deps: ServiceDeps): NsServiceInstance {
  // Embedded mode generates it into the data directory before services start; `serve ns` needs it set.
  const { secretKey, publicUrl } = deps.config;
  if (secretKey === undefined)
    throw new ConfigError(settings.secretKey.env, 'required by NS (it seals the server keys)');
  const servers = createVirtualServerRepository(deps.db, deps.clock, deps.random);
  // NS → IdP: logouts and deleted accounts end the IdP sessions made from them (docs/sessions.md).
  const idpSessionEnds = createIdpSessionEnds({ kv: deps.kv, logger: deps.logger });
  // Created below (it needs the session service); a logout reaches it only once requests flow.
  let push: PushService | undefined;
  const sessions = createSessionService({
    db: deps.db,
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    servers,
    publicUrl,
    onLoggedOut: async (session) => {
      await push?.notifyLogout(session);
      // The IdP session made from this NS login ends too (cause `ns_logout`).
      await idpSessionEnds.loggedOut(session);
    },
  });
  const identities = createServerIdentityService({ db: deps.db, clock: deps.clock, secretKey, publicUrl });
  const checkAttestation = createAttestationChecker({ sfs: deps.peers.sfs, kv: deps.kv, clock: deps.clock });
  // Business events come from the audit recorder (and the phone's scan paths): one place, no scattered calls.
  const events = createBusinessEvents({
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
  });
  const audit = idpSessionEnds.wrap(
    withBusinessEvents(createAuditService({ db: deps.db, clock: deps.clock, random: deps.random }), events),
  );
  const outbound = configuredOutboundClient(deps.config.outboundAllow);
  const dispatcher = createWebhookDispatcher({
    db: deps.db,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    secretKey,
    outbound,
  });
  const webhooks = createWebhookService({
    db: deps.db,
    clock: deps.clock,
    random: deps.random,
    secretKey,
    outbound,
    audit,
    publicUrl,
    onQueued: () => dispatcher.kick(),
  });
  events.addSink(webhooks.sink);
  const accounts = createAccountService({
    db: deps.db,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    identities,
    checkAttestation,
    audit,
    publicUrl,
    kv: deps.kv,
  });
  push = createPushService({
    db: deps.db,
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    mc: deps.peers.mc,
    accounts: createAccountRepository(deps.db),
    servers,
    identities,
    sessions: () => sessions,
    audit,
    geoip: deps.geoip ?? noGeoIp,
    publicUrl,
  });
  const transactions = createTransactionService({
    db: deps.db,
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    accounts: createAccountRepository(deps.db),
    servers,
    identities,
    checkAttestation,
    sfs: deps.peers.sfs,
    // Delivered as push logins are: sealed for the account's app instance, pulled when the push is lost.
    deliver: createMcDelivery({
      mc: deps.peers.mc,
      logger: deps.logger,
      pushKey: (id) => createPushRepository(deps.db).pushKey(id),
    }),
    audit,
    publicUrl,
  });
  // The phone's answers are also told to the IdP (OIDC CIBA) once committed.
  const answeredTransactions = announceAnswers(transactions, { kv: deps.kv, logger: deps.logger });
  const logins = createMobileLoginService({
    sessions,
    accounts,
    checkAttestation,
    audit,
    logger: deps.logger,
    events,
  });
  const apiKeys = createApiKeyVerifier({
    rootApiKey: deps.config.nsRootApiKey,
    repository: createApiKeyRepository(deps.db),
  });
  const serverAdmin = createServerAdminService({
    repository: servers,
    sfs: deps.peers.sfs,
    audit,
    logger: deps.logger,
    publicUrl,
    // Embedded start re-creates `default`: deleting it would only reset it (docs/decisions.md).
    protectedNames: deps.config.mode === 'embedded' ? [defaultServerName] : [],
  });
  // One instance for REST and the phone's `account.delete`.
  const accountAdmin = createAccountAdminService({ db: deps.db, clock: deps.clock, audit });
  const apiKeyAdmin = createApiKeyAdminService({
    db: deps.db,
    clock: deps.clock,
    random: deps.random,
    audit,
  });
  const sweeper = createSweeper({
    sessions: createSessionRepository(deps.db),
    enrolTokens: createEnrolTokenRepository(deps.db),
    pushRequests: createPushRepository(deps.db),
    transactions: createTransactionRepository(deps.db),
    webhookDeliveries: createWebhookRepository(deps.db),
    kv: deps.kv,
    clock: deps.clock,
    logger: deps.logger,
  });
  const router = createNsRouter({
    sessions,
    servers,
    accounts,
    apiKeys,
    serverAdmin,
    apiKeyAdmin,
    users: createUserService({ db: deps.db, clock: deps.clock, random: deps.random, audit }),
    accountAdmin,
    audit,
    webhooks,
    recovery: createRecoveryService({
      db: deps.db,
      kv: deps.kv,
      clock: deps.clock,
      random: deps.random,
      secretKey,
      audit,
      accounts,
    }),
    push,
    transactions,
    returningUsers: createReturningUserCookies(secretKey),
    kv: deps.kv,
    clock: deps.clock,
    logger: deps.logger,
    publicUrl,
  });
  return {
    name: 'ns',
    router,
    sessions,
    accounts,
    identities,
    provides: {
      ns: createNsPeer({
        servers,
        sessions,
        accounts: createAccountRepository(deps.db),
        users: createUserRepository(deps.db),
        clock: deps.clock,
        publicUrl,
        audit,
        apiKeys,
        ciba: createCibaTransactions({ servers, transactions }),
      }),
    },
    mobile: createNsMobileEndpoint({
      identities,
      accounts,
      accountAdmin,
      logins,
      push,
      transactions: answeredTransactions,
      kv: deps.kv,
      clock: deps.clock,
      random: deps.random,
      logger: deps.logger,
      geoip: deps.geoip,
    }),
    sockets: [createEventSocketEndpoint({ apiKeys, servers, events, logger: deps.logger })],
    async start() {
      sweeper.start();
      dispatcher.start();
      // Embedded mode is the zero-setup demo: it needs a virtual server to log in to.
      if (deps.config.mode !== 'embedded') return;
      const server = await servers.ensure({ name: defaultServerName, displayName: 'nextAuth' });
      // Creating the key now surfaces a wrong NEXTAUTH_SECRET_KEY at start, not at the first enrolment.
      await identities.serverIdentity(server.name);
      // The in-process SFS enforces each server's PIN policy (it knows a server only by its global id):
      // registering all of them at start also repairs an SFS database that was reset or restored.
      await serverAdmin.syncAll();
    },
    async close() {
      sweeper.stop();
      await dispatcher.stop();
    },
  };
}
