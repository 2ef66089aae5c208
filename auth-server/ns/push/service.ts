// Push login (DESIGN.md §4) and the app's notices: NS seals a message for the account's app instance and
// posts it through the MC; the app redeems it on its NS channel like a scanned login code. Number
// matching, "not me" with its server policy, and the per-account rate limits live here.
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { PushLoginPayload } from '../../../protocol/mobile/mc-payloads.js';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import type { GeoIp } from '../../common/geoip/index.js';
import { hitFixedWindow } from '../../common/kv/fixed-window.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { McPeer } from '../../common/peers.js';
import { AccountError } from '../accounts/errors.js';
import type { Account } from '../accounts/model.js';
import type { AccountRepository } from '../accounts/repository.js';
import type { AuditActor, AuditOrigin } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { ServerIdentity, ServerIdentityService } from '../servers/identity.js';
import type { Policy, VirtualServer } from '../servers/model.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import type { Session } from '../sessions/model.js';
import { sha256Hex } from '../sessions/secrets.js';
import type { SessionService } from '../sessions/service.js';
import { createMcDelivery, type McDelivery } from './deliver.js';
import { PushError } from './errors.js';
import { createPushRepository, type PushRepository, pushRequestIdPattern } from './repository.js';

/** Wrong numbers one push request takes before it is used up (1 in 90 per guess). */
/**
 * A request id is what a person copies from `nextauth-device pending` into `approve <id>`: one that began
 * with '-' would be read as an option. Mapping that one character to 'A' keeps the id format (22 base64url
 * characters) and costs under 0.03 bits of its 128.
 */
export function copyableId(id: string): string {
  return id.startsWith('-') ? `A${id.slice(1)}` : id;
}

export const maxWrongMatches = 3;
/** How long a logout notice waits in the mailbox for an app that is offline. */
const logoutNoticeMs = 24 * 3600_000;
/** Accounts of one user that one provokeLogin pushes to. */
const maxAccountsPerPush = 5;

export interface ProvokeLoginInput {
  server: VirtualServer;
  /** The browser's session that the push logs in (it stays with the browser holding its nonce). */
  session: Session;
  target: { userid: string } | { accountId: string };
  /** The integrator's API key id: limited per user (policy `clientPushesPerMinute`). The login page has none. */
  client?: string;
  actor: AuditActor;
  origin: AuditOrigin;
}

export interface ProvokedLogin {
  /** The number the browser shows and the user types on the phone. */
  match: number;
  expiresAt: number;
  requests: { id: string; account: string }[];
}

export interface OpenPushInput {
  server: ServerIdentity;
  accountId: string;
  requestId: string;
  code: string;
  match?: number;
  origin: AuditOrigin;
}

export interface PushService {
  provokeLogin(input: ProvokeLoginInput): Promise<ProvokedLogin>;
  /**
   * Phone side: uses the push request up and moves its session `waiting → scanned`, as `login.scan` does.
   * Without `match` the result may only be declined (`matched: false`); a wrong number is refused
   * (`wrong_match`, audited) and leaves the request open until the `maxWrongMatches`-th.
   */
  open(input: OpenPushInput): Promise<{ session: Session; account: Account; matched: boolean }>;
  /** The user reported a login they did not start: the server's `notMe` policy for the account. */
  applyNotMePolicy(server: ServerIdentity, account: Account, origin: AuditOrigin): Promise<void>;
  /** Tells the account's app that a login ended (best effort: failures are logged, never thrown). */
  notifyLogout(session: Session): Promise<void>;
  /** Where the account's pushes go: the app-instance key the app registers at the MC. */
  setPushKey(accountId: string, thumbprint: string): Promise<void>;
}

export interface PushServiceDeps {
  db: Knex;
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Absent when this process reaches no MC: pushes are unavailable, logout notices are skipped. */
  mc: McPeer | undefined;
  accounts: AccountRepository;
  servers: VirtualServerRepository;
  identities: ServerIdentityService;
  sessions: () => SessionService;
  audit: AuditRecorder;
  geoip: GeoIp;
  publicUrl: string;
}

export function createPushService(deps: PushServiceDeps): PushService {
  const { db, kv, clock, random, logger, mc, audit } = deps;
  const repository: PushRepository = createPushRepository(db);
  const nsUrl = deps.publicUrl.replace(/\/+$/, '');

  const messageServer = (server: ServerIdentity) => ({
    id: server.globalId,
    name: server.name,
    displayName: server.displayName,
    nsUrl,
  });

  const post: McDelivery = createMcDelivery({ mc, logger, pushKey: (id) => repository.pushKey(id) });

  /** Counts one push in the current minute under `key`; PushError `code` past `limit`. */
  const countInMinute = async (
    key: string,
    limit: number,
    code: 'push_rate_limited' | 'client_push_rate_limited',
  ): Promise<void> => {
    const retryAfter = await hitFixedWindow(kv, clock, key, limit, 60_000);
    if (retryAfter !== undefined) throw new PushError(code, undefined, retryAfter);
  };

  /** Counts one push against the account's minute; PushError `push_rate_limited` past the policy. */
  const countPush = (accountId: string, policy: Policy): Promise<void> =>
    countInMinute(`ns:push:rate:${accountId}`, policy.pushesPerMinute, 'push_rate_limited');

  const pushOne = async (
    input: ProvokeLoginInput,
    identity: ServerIdentity,
    account: Account,
    match: number,
  ): Promise<{ id: string; account: string }> => {
    const { server, session } = input;
    if (account.blockedAt !== null) throw new AccountError('account_blocked');
    const { blockedUntil } = await repository.pushKey(account.id);
    const now = clock.now();
    if (blockedUntil !== null && blockedUntil > now)
      throw new PushError('push_blocked', undefined, Math.ceil((blockedUntil - now) / 1000));
    await countPush(account.id, server.policy);
    const id = copyableId(randomToken(random, 16));
    const code = randomToken(random, 16);
    const expiresAt = session.expiresAt.getTime();
    await repository.save({
      id,
      serverId: server.id,
      sessionId: session.id,
      accountId: account.id,
      codeHash: sha256Hex(code),
      match,
      createdAt: now,
      expiresAt,
    });
    // Inserted first, counted after: concurrent pushes each see the others' rows, so the limit is never
    // passed (at worst two racing requests both give way).
    if ((await repository.countOpen(account.id, now)) > server.policy.maxOpenPushes) {
      await repository.delete(id);
      throw new PushError('too_many_open_pushes', undefined, 60);
    }
    const payload: PushLoginPayload = {
      v: 1,
      type: 'login',
      id,
      server: messageServer(identity),
      account: account.id,
      userid: account.userid,
      code,
      info: session.info,
      browser: {
        userAgent: session.userAgent || null,
        ip: session.ip || null,
        location: deps.geoip.coarseLocation(session.ip),
      },
      expiresAt,
    };
    try {
      await post(account.id, id, expiresAt, payload);
    } catch (err) {
      await repository.consume(id, clock.now(), 'undeliverable');
      throw err;
    }
    await repository.recordPush(account.id, clock.now());
    await audit.record({
      type: 'push.sent',
      server: { id: server.id, name: server.name },
      actor: input.actor,
      subject: { kind: 'user', id: account.userid },
      ip: input.origin.ip,
      userAgent: input.origin.userAgent,
      details: { session: session.id, account: account.id, request: id },
    });
    return { id, account: account.id };
  };

  return {
    async provokeLogin(input) {
      const { server, target } = input;
      const identity = await deps.identities.serverIdentity(server.name);
      if (!identity) throw new PushError('no_account');
      let accounts: Account[];
      if ('accountId' in target) {
        const account = await deps.accounts.find(server.id, target.accountId);
        accounts = account ? [account] : [];
      } else {
        accounts = (await deps.accounts.listByUser(server.id, target.userid)).filter(
          (a) => a.blockedAt === null,
        );
      }
      if (accounts.length === 0) throw new PushError('no_account');
      // One integrator key must not use up the user's pushes (the account limit is shared with the login
      // page and other integrators): counted once per provokeLogin, before anything is stored or sent.
      if (input.client !== undefined)
        await countInMinute(
          `ns:push:client:${server.id}:${sha256Hex(input.client)}:${sha256Hex(accounts[0]?.userid ?? '')}`,
          server.policy.clientPushesPerMinute,
          'client_push_rate_limited',
        );
      const match = randomInt(10, 100);
      const requests: { id: string; account: string }[] = [];
      let firstError: unknown;
      for (const account of accounts.slice(0, maxAccountsPerPush)) {
        try {
          requests.push(await pushOne(input, identity, account, match));
        } catch (err) {
          if (!(err instanceof PushError || err instanceof AccountError)) throw err;
          firstError ??= err;
        }
      }
      if (requests.length === 0) throw firstError;
      return { match, expiresAt: input.session.expiresAt.getTime(), requests };
    },

    async open(input) {
      const { server, accountId, requestId, code, match, origin } = input;
      const account = await deps.accounts.load(accountId);
      if (account.blockedAt !== null) throw new AccountError('account_blocked');
      if (!pushRequestIdPattern.test(requestId)) throw new PushError('unknown_push');
      const now = clock.now();
      const request = await repository.find(requestId);
      const codeOk =
        request !== undefined &&
        timingSafeEqual(Buffer.from(request.codeHash, 'utf8'), Buffer.from(sha256Hex(code), 'utf8'));
      if (
        !request ||
        !codeOk ||
        request.accountId !== account.id ||
        request.serverId !== server.serverId ||
        request.usedAt !== null ||
        request.expiresAt <= now
      )
        throw new PushError('unknown_push');
      if (match !== undefined) {
        const typed = Buffer.from(String(match).padStart(2, '0'), 'utf8');
        const shown = Buffer.from(String(request.match).padStart(2, '0'), 'utf8');
        if (!timingSafeEqual(typed, shown)) {
          const wrong = await kv.incr(`ns:push:wrong:${request.id}`, {
            ttlMs: Math.max(1000, request.expiresAt - now),
          });
          // The last allowed guess uses the request up: guessing 1 in 90 must not be repeatable.
          const usedUp =
            wrong >= maxWrongMatches && (await repository.consume(request.id, now, 'wrong_match'));
          await audit.record({
            type: 'push.rejected',
            server: { id: server.serverId, name: server.name },
            actor: { kind: 'account', id: account.id },
            subject: { kind: 'user', id: account.userid },
            ip: origin.ip,
            userAgent: origin.userAgent,
            details: { session: request.sessionId, request: request.id, reason: 'wrong_match', usedUp },
          });
          throw new PushError('wrong_match');
        }
      }
      const session = await deps.sessions().scanWith(request.sessionId, account.id, async (trx, at) => {
        if (!(await createPushRepository(trx).consume(request.id, at, 'opened')))
          throw new PushError('unknown_push');
      });
      await repository.recordPush(account.id, clock.now());
      return { session, account, matched: match !== undefined };
    },

    async applyNotMePolicy(server, account, origin) {
      const stored = await deps.servers.findByName(server.name);
      if (!stored) return;
      const { notMe, notMeBlockSeconds } = stored.policy;
      if (notMe === 'none') return;
      const base = {
        server: { id: server.serverId, name: server.name },
        actor: { kind: 'system', id: 'ns' } as AuditActor,
        subject: { kind: 'account', id: account.id } as const,
        ip: origin.ip,
        userAgent: origin.userAgent,
      };
      if (notMe === 'block_account') {
        if ((await deps.accounts.block(account.id, clock.now())) === 'blocked')
          await audit.record({
            ...base,
            type: 'account.blocked',
            details: { reason: 'not_me', userid: account.userid },
          });
        return;
      }
      const until = clock.now() + notMeBlockSeconds * 1000;
      await repository.blockPushes(account.id, until);
      await audit.record({
        ...base,
        type: 'account.push_blocked',
        details: { reason: 'not_me', until: new Date(until).toISOString() },
      });
    },

    async notifyLogout(session) {
      if (session.accountId === null || session.userid === null) return;
      try {
        const identity = await deps.identities.serverIdentity(session.serverName);
        if (!identity) return;
        const now = clock.now();
        const id = randomToken(random, 16);
        await post(session.accountId, id, now + logoutNoticeMs, {
          v: 1,
          type: 'logout',
          server: messageServer(identity),
          account: session.accountId,
          userid: session.userid,
          hsid: session.hsid,
          at: now,
        });
      } catch (err) {
        // Best effort: the logout itself has happened; an offline or unregistered app just does not hear.
        const level = err instanceof PushError && err.code === 'push_unavailable' ? 'debug' : 'warn';
        logger[level](
          { err, event: 'logout_notice_failed', sessionId: session.id, accountId: session.accountId },
          'could not tell the app of a logout',
        );
      }
    },

    setPushKey: (accountId, thumbprint) => repository.setPushKey(accountId, thumbprint),
  };
}
