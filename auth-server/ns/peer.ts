// NS as the IdP front doors see it (auth-server/common/peers.ts): virtual servers, the browser's login
// session behind the login page's cookie (read, and ended by an OIDC logout), whether a user may still log
// in, the user's profile for claims, and for the IdP management API: who an API key is and the audit log.

import { nsServerId } from '../../protocol/mobile/common.js';
import type { Clock } from '../common/clock.js';
import type { NsBrowserSession, NsPeer, NsUserProfile } from '../common/peers.js';
import { TtlCache } from '../common/ttl-cache.js';
import type { AccountRepository } from './accounts/repository.js';
import { sessionCookieName } from './api/cookies.js';
import { mayActOn } from './apikeys/model.js';
import type { ApiKeyVerifier } from './apikeys/verify.js';
import type { AuditRecorder } from './audit/service.js';
import { serverNameSchema } from './servers/model.js';
import type { VirtualServerRepository } from './servers/repository.js';
import { effectiveState, toLoginStatus } from './sessions/model.js';
import type { SessionService } from './sessions/service.js';
import type { CibaTransactions } from './transactions/ciba.js';
import type { UserRepository } from './users/repository.js';

const serverIdTtlMs = 5_000;
const maxCachedServers = 1_000;

export interface NsPeerDeps {
  servers: VirtualServerRepository;
  sessions: SessionService;
  accounts: AccountRepository;
  users: Pick<UserRepository, 'find'>;
  clock: Clock;
  /** Decides the cookie name (`__Host-` prefix on https), as the NS browser endpoints do. */
  publicUrl: string;
  audit: AuditRecorder;
  /** The verifier of NS's own REST API: one way to check a key. */
  apiKeys: ApiKeyVerifier;
  /** OIDC CIBA requests as transactions. */
  ciba: CibaTransactions;
}

export function createNsPeer(deps: NsPeerDeps): NsPeer {
  const { servers, sessions, accounts, users, clock } = deps;
  const secure = deps.publicUrl.startsWith('https:');
  const findServer = async (name: string) =>
    serverNameSchema.safeParse(name).success ? servers.findByName(name) : undefined;
  // Token grants ask about a user several times per request, each time by server name. A server's id
  // never changes, so a found one is kept for a few seconds; a deleted server takes its accounts with it,
  // so a stale id can only make a user look inactive, never active. Misses are not kept: a server created
  // a moment ago is seen at once.
  const serverIds = new TtlCache<string>(serverIdTtlMs, maxCachedServers, clock);
  const serverIdOf = async (name: string): Promise<string | undefined> => {
    const cached = serverIds.get(name);
    if (cached !== undefined) return cached;
    const found = await findServer(name);
    if (found) serverIds.set(name, found.id);
    return found?.id;
  };
  const hasUnblockedAccount = async (serverId: string, userid: string) =>
    (await accounts.listByUser(serverId, userid)).some((a) => a.blockedAt === null);
  const profileOf = async (serverId: string, userid: string): Promise<NsUserProfile | undefined> => {
    const user = await users.find(serverId, userid);
    if (!user) return undefined;
    const { name, email, groups, attributes } = user;
    return { userid: user.userid, name, email, groups, attributes };
  };

  return {
    async findServer(name) {
      const server = await findServer(name);
      return server ? { name: server.name, displayName: server.displayName } : undefined;
    },

    browserSessionCookieName: (server) => sessionCookieName(server, secure),

    async browserSessionStatus(server, nonce) {
      const session = await sessions.findByNonce(nonce);
      if (!session || session.serverName !== server) return undefined;
      const status = toLoginStatus(session, clock.now());
      const result: NsBrowserSession = {
        id: session.id,
        state: status.state,
        loggedin: status.loggedin,
        createdAt: session.createdAt.getTime(),
        expiresAt: session.expiresAt.getTime(),
      };
      if (status.loggedin) {
        if (status.userid !== undefined) result.userid = status.userid;
        if (status.accountid !== undefined) result.accountid = status.accountid;
        if (status.hsid !== undefined) result.hsid = status.hsid;
        if (session.loggedInAt) result.loggedInAt = session.loggedInAt.getTime();
        // Logins stored before the method was kept were PIN logins: biometrics did not exist then.
        result.method = session.authMethod ?? 'pin';
      }
      return result;
    },

    async userActive(server, userid) {
      const serverId = await serverIdOf(server);
      return serverId !== undefined && hasUnblockedAccount(serverId, userid);
    },

    async userProfile(server, userid) {
      const serverId = await serverIdOf(server);
      return serverId === undefined ? undefined : profileOf(serverId, userid);
    },

    async activeUser(server, userid) {
      const serverId = await serverIdOf(server);
      if (serverId === undefined) return undefined;
      const [active, profile] = await Promise.all([
        hasUnblockedAccount(serverId, userid),
        profileOf(serverId, userid),
      ]);
      if (!active) return undefined;
      return profile ? { profile } : {};
    },

    async endBrowserSession(server, nonce, actor) {
      const session = await sessions.findByNonce(nonce);
      if (!session || session.serverName !== server) return false;
      if (!['waiting', 'scanned', 'loggedin'].includes(effectiveState(session, clock.now()))) return false;
      const status = await sessions.logout(nonce);
      if (status.state !== 'loggedout') return false;
      await deps.audit.record({
        type: 'session.logout',
        server: { id: session.serverId, name: session.serverName },
        actor: { kind: 'system', id: actor },
        subject:
          session.userid !== null
            ? { kind: 'user', id: session.userid }
            : { kind: 'session', id: session.id },
        details: { session: session.id, state: session.state },
      });
      return true;
    },

    async reportPinLockout(report) {
      // An SFS serves many NS operators: only ids under this NS's own URL name one of its servers.
      const prefix = nsServerId(deps.publicUrl, '');
      if (!report.serverId.startsWith(prefix)) return;
      const server = await findServer(report.serverId.slice(prefix.length));
      if (!server) return;
      for (const account of await accounts.listByAppInstance(server.id, report.appInstanceId)) {
        await deps.audit.record({
          type: 'pin.lockout',
          server: { id: server.id, name: server.name },
          actor: { kind: 'system', id: 'sfs' },
          subject: { kind: 'account', id: account.id },
          details: {
            userid: account.userid,
            lockout: report.lockout,
            ...(report.retryAfterSeconds !== undefined
              ? { retryAfterSeconds: report.retryAfterSeconds }
              : {}),
          },
        });
        // The browser that waits for this phone's confirmation learns it at once (`declined`, `locked`).
        await sessions.endScansOfLockedAccount(account.id);
      }
    },

    async authenticateApiKey(presented, server) {
      const principal = await deps.apiKeys.verify(presented);
      if (!principal) return undefined;
      const found = await findServer(server);
      return {
        keyId: principal.keyId,
        roles: [...principal.roles],
        mayActOnServer: found !== undefined && mayActOn(principal, found.id),
      };
    },

    async recordAdminEvent(event) {
      // The IdP checked the server a moment ago; a server deleted since is recorded by name alone.
      const found = await findServer(event.server);
      await deps.audit.record({
        type: event.type,
        server: found ? { id: found.id, name: found.name } : null,
        actor: { kind: 'apikey', id: event.actor },
        subject: event.subject,
        ip: event.ip,
        userAgent: event.userAgent,
        details: { ...(found ? {} : { server: event.server }), ...event.details },
      });
    },

    startCibaTransaction: (request) => deps.ciba.start(request),

    cibaTransactionStatus: (server, tid) => deps.ciba.status(server, tid),

    async recordIdpSessionEvent(event) {
      const found = await findServer(event.server);
      await deps.audit.record({
        type: event.type,
        server: found ? { id: found.id, name: found.name } : null,
        actor: { kind: 'system', id: 'idp' },
        subject: { kind: 'user', id: event.userid },
        ip: event.ip,
        userAgent: event.userAgent,
        details: {
          ...(found ? {} : { server: event.server }),
          idpSession: event.session,
          account: event.account,
          ...(event.amr ? { amr: event.amr } : {}),
          ...(event.cause ? { cause: event.cause } : {}),
        },
      });
    },
  };
}
