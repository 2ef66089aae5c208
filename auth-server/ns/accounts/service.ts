// Enrolment and account operations (the logic behind REST, the CLI and `/ns/mobile`), testable without I/O.
import type { Knex } from 'knex';
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { type PublicJwk, publicKeyFromJwk, thumbprint } from '../../../protocol/index.js';
import { infoTextSchema } from '../../../protocol/mobile/common.js';
import { enrolUri } from '../../../protocol/mobile/uris.js';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { ConflictError, NotFoundError } from '../../common/db/errors.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { AttestationChecker } from '../attestation/check.js';
import { type AuditContext, type AuditOrigin, systemContext, unknownOrigin } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { ServerIdentity, ServerIdentityService } from '../servers/identity.js';
import { createVirtualServerRepository } from '../servers/repository.js';
import { sha256Hex } from '../sessions/secrets.js';
import { checkAllowedApp, requireConfiguredSfs } from './allowed-app.js';
import { createEnrolTokenRepository, type EnrolTokenRepository } from './enrol-tokens.js';
import { createEnrolViewService, type EnrolViewService, enrolChannel } from './enrol-view-service.js';
import { AccountError } from './errors.js';
import {
  type Account,
  defaultEnrolTtlSeconds,
  type EnrolToken,
  enrolTtlSchema,
  useridSchema,
} from './model.js';
import { type AccountRepository, createAccountRepository } from './repository.js';

export interface AccountServiceDeps {
  db: Knex;
  clock: Clock;
  random: Random;
  logger: Logger;
  identities: ServerIdentityService;
  checkAttestation: AttestationChecker;
  /** Enrol links, enrolments and blocks are recorded in the same transaction as the change. */
  audit: AuditRecorder;
  /** NS public URL: goes into enrol URIs (the phone connects to `{ns}/ns/mobile`). */
  publicUrl: string;
  /** The bus that tells enrol pages of an enrolment at once; without it they notice on their slow poll. */
  kv?: Kv;
}

export interface EnrolLink {
  uri: string;
  expiresAt: Date;
  /** RFC 7638 thumbprint of the server key the phone will pin (and show as a visual hash). */
  keyFingerprint: string;
  /** With `page: true`: the view token of the enrol page (`/enrol/{server}#t=…`), which ends with the link. */
  pageToken?: string;
}

export interface EnrolPreview {
  server: ServerIdentity;
  userid: string;
  announceInfo: string | null;
  expiresAt: Date;
}

export interface CompleteEnrolInput {
  /** The virtual server the channel was opened to. */
  server: ServerIdentity;
  token: string;
  accountKey: PublicJwk;
  attestation: string;
  /** TH8 of the enrolment channel. */
  transcriptHash: Uint8Array;
  description?: string | undefined;
  clientVersion?: string | undefined;
  /** The signed SDK configuration the app runs with; required by servers that list allowed apps. */
  sdkConfig?: string | undefined;
  /** The phone's address and user agent, for the audit log. */
  origin?: AuditOrigin;
}

export interface AccountService {
  /**
   * Throws NotFoundError (unknown server) or ZodError (bad userid / ttl); stores only the token's hash, and
   * an `enrol_link.created` audit event by `by` (default: NS itself).
   */
  createEnrolLink(
    input: { server: string; userid: string; ttlSeconds?: number; announceInfo?: string; page?: boolean },
    by?: AuditContext,
  ): Promise<EnrolLink>;
  /** Reads the token without using it; AccountError `enrol_token_*` when it cannot be used. */
  beginEnrol(server: ServerIdentity, token: string): Promise<EnrolPreview>;
  /**
   * Verifies the attestation (purpose `enrol`, new key, this channel), then uses the token and stores the
   * account in one transaction: of N concurrent completions exactly one creates an account, and any
   * failure leaves the token unused. The `account.enrolled` audit event is part of that transaction.
   */
  completeEnrol(input: CompleteEnrolInput): Promise<Account>;
  findAccountByThumbprint(serverId: string, keyThumbprint: string): Promise<Account | undefined>;
  /**
   * Throws AccountError `account_unknown`; idempotent for blocked accounts. The block that changes the
   * account records `account.blocked` by `by` (default: NS itself) in the same transaction.
   */
  blockAccount(accountId: string, by?: AuditContext): Promise<void>;
  /** Pass the caller's transaction as `db` to record it together with the login. */
  recordLogin(accountId: string, db?: Knex): Promise<void>;
  /** Throws AccountError `account_unknown`. */
  loadAccount(accountId: string): Promise<Account>;
  /**
   * HEADLESS_UPGRADE: replaces the key of `accountId` (currently `oldThumbprint`) by `next`, with an
   * `account.updated` audit event (`change: key_rotated`) in the same transaction. Throws AccountError
   * `account_unknown` when the account is gone or its key changed meanwhile, `account_key_exists` when
   * another account of the server holds the new key.
   */
  rotateKey(
    accountId: string,
    oldThumbprint: string,
    next: { publicJwk: Account['publicJwk']; keyThumbprint: string },
    by: AuditContext,
  ): Promise<Account>;

  /** The enrol pages of links made with `page: true`. */
  enrolViews: EnrolViewService;
}

/** base64url of 32 bytes: anything else cannot be one of our tokens, so it is refused before any query. */
const tokenShape = /^[A-Za-z0-9_-]{43}$/;
const tokenBytes = 32;

export function createAccountService(deps: AccountServiceDeps): AccountService {
  const { db, clock, random, identities } = deps;
  const accounts: AccountRepository = createAccountRepository(db);
  const tokens: EnrolTokenRepository = createEnrolTokenRepository(db);
  const servers = createVirtualServerRepository(db, clock, random);
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');
  const enrolViews = createEnrolViewService({
    db,
    clock,
    random,
    servers,
    subscribe: deps.kv
      ? (channel, handler) => (deps.kv as Kv).subscribe(channel, handler)
      : async () => async () => {},
  });

  /** Why a token cannot be used at `now`, or the token when it can. */
  const usableToken = async (server: ServerIdentity, token: string, now: number): Promise<EnrolToken> => {
    const record = tokenShape.test(token) ? await tokens.find(sha256Hex(token)) : undefined;
    // A token of another server reads as unknown: the channel's server is part of what the QR pinned.
    if (!record || record.serverId !== server.serverId) throw new AccountError('enrol_token_unknown');
    if (record.usedAt !== null) throw new AccountError('enrol_token_used');
    if (record.expiresAt.getTime() <= now) throw new AccountError('enrol_token_expired');
    return record;
  };

  return {
    async createEnrolLink(input, by = systemContext) {
      const userid = useridSchema.parse(input.userid);
      const ttlSeconds = enrolTtlSchema.parse(input.ttlSeconds ?? defaultEnrolTtlSeconds);
      const announceInfo = input.announceInfo === undefined ? null : infoTextSchema.parse(input.announceInfo);
      const server = await identities.serverIdentity(input.server);
      if (!server) throw new NotFoundError('virtual server', input.server);
      const token = randomToken(random, tokenBytes);
      const now = clock.now();
      const expiresAt = new Date(now + ttlSeconds * 1000);
      const uri = enrolUri({ v: 1, ns: publicUrl, s: server.name, fp: server.thumbprint, t: token });
      let pageToken: string | undefined;
      await db.transaction(async (trx) => {
        await createEnrolTokenRepository(trx).save({
          tokenHash: sha256Hex(token),
          serverId: server.serverId,
          userid,
          announceInfo,
          createdAt: new Date(now),
          expiresAt,
        });
        await deps.audit.record(
          {
            type: 'enrol_link.created',
            server: { id: server.serverId, name: server.name },
            ...by,
            subject: { kind: 'user', id: userid },
            details: {
              ttlSeconds,
              expiresAt: expiresAt.toISOString(),
              ...(input.page ? { page: true } : {}),
            },
          },
          trx,
        );
        if (input.page)
          pageToken = await enrolViews.create(trx, {
            tokenHash: sha256Hex(token),
            serverId: server.serverId,
            uri,
            expiresAt,
          });
      });
      return { uri, expiresAt, keyFingerprint: server.thumbprint, ...(pageToken ? { pageToken } : {}) };
    },

    async beginEnrol(server, token) {
      const record = await usableToken(server, token, clock.now());
      return {
        server,
        userid: record.userid,
        announceInfo: record.announceInfo,
        expiresAt: record.expiresAt,
      };
    },

    async completeEnrol(input) {
      const { server } = input;
      // Cheap refusals first: a dead token or a foreign app must not burn the user's attestation.
      await usableToken(server, input.token, clock.now());
      const { allowedApps } = await servers.getByName(server.name);
      const allowed = await checkAllowedApp(allowedApps, input.sdkConfig, clock);
      const keyThumbprint = await thumbprint(publicKeyFromJwk(input.accountKey));
      const claims = await deps.checkAttestation(input.attestation, {
        audience: server.globalId,
        challenge: await attestationChallenge({
          serverId: server.globalId,
          accountKeyThumbprint: keyThumbprint,
          transcriptHash: input.transcriptHash,
          purpose: 'enrol',
        }),
      });
      if (allowed) requireConfiguredSfs(allowed.config, claims.iss);
      const tokenHash = sha256Hex(input.token);
      const now = clock.now();
      const account: Account = {
        id: randomToken(random, 16),
        serverId: server.serverId,
        userid: '',
        publicJwk: input.accountKey,
        keyThumbprint,
        appInstanceId: claims.sub,
        sfsIssuer: claims.iss,
        description: input.description ?? null,
        clientVersion: input.clientVersion ?? null,
        createdAt: new Date(now),
        lastLoginAt: null,
        lastPushAt: null,
        blockedAt: null,
      };
      // The consuming UPDATE comes first in the transaction (SQLite takes its write lock there), and a
      // failed insert rolls it back: the token is used exactly when the account exists.
      await db.transaction(async (trx) => {
        const trxTokens = createEnrolTokenRepository(trx);
        if (!(await trxTokens.consume(tokenHash, server.serverId, now))) {
          const record = await trxTokens.find(tokenHash);
          if (!record || record.serverId !== server.serverId) throw new AccountError('enrol_token_unknown');
          throw new AccountError(record.usedAt !== null ? 'enrol_token_used' : 'enrol_token_expired');
        }
        const record = await trxTokens.find(tokenHash);
        if (!record) throw new AccountError('enrol_token_unknown');
        account.userid = record.userid;
        try {
          await createAccountRepository(trx).save(account);
        } catch (err) {
          if (err instanceof ConflictError) throw new AccountError('account_key_exists');
          throw err;
        }
        await trxTokens.setAccount(tokenHash, account.id);
        const origin = input.origin ?? unknownOrigin;
        await deps.audit.record(
          {
            type: 'account.enrolled',
            server: { id: server.serverId, name: server.name },
            // The new key acts: the attestation proved it, with the token as authority.
            actor: { kind: 'account', id: account.id },
            subject: { kind: 'user', id: account.userid },
            ip: origin.ip,
            userAgent: origin.userAgent,
            details: {
              account: account.id,
              keyThumbprint,
              appInstance: account.appInstanceId,
              description: account.description,
              clientVersion: account.clientVersion,
              ...(allowed ? { app: allowed.app.id, appPublisher: allowed.app.publisher } : {}),
            },
          },
          trx,
        );
      });
      deps.logger.info(
        { event: 'account_enrolled', server: server.name, accountId: account.id, userid: account.userid },
        'account enrolled',
      );
      // An enrol page following this token shows the success at once (it re-reads the status).
      await deps.kv
        ?.publish(enrolChannel(tokenHash), '{}')
        .catch((err: unknown) => deps.logger.warn({ err }, 'enrol event not published'));
      return account;
    },

    findAccountByThumbprint: (serverId, keyThumbprint) => accounts.findByThumbprint(serverId, keyThumbprint),

    async blockAccount(accountId, by = systemContext) {
      await db.transaction(async (trx) => {
        const trxAccounts = createAccountRepository(trx);
        const outcome = await trxAccounts.block(accountId, clock.now());
        if (outcome === 'unknown') throw new AccountError('account_unknown');
        if (outcome === 'unchanged') return;
        const account = await trxAccounts.load(accountId);
        await deps.audit.record(
          {
            type: 'account.blocked',
            server: { id: account.serverId, name: await trxAccounts.serverName(account.serverId) },
            ...by,
            subject: { kind: 'account', id: account.id },
            details: { userid: account.userid },
          },
          trx,
        );
      });
    },

    recordLogin: (accountId, handle) =>
      (handle === undefined ? accounts : createAccountRepository(handle)).recordLogin(accountId, clock.now()),

    async rotateKey(accountId, oldThumbprint, next, by) {
      return db.transaction(async (trx) => {
        const trxAccounts = createAccountRepository(trx);
        let rotated: boolean;
        try {
          rotated = await trxAccounts.rotateKey(accountId, oldThumbprint, next);
        } catch (err) {
          if (err instanceof ConflictError) throw new AccountError('account_key_exists');
          throw err;
        }
        if (!rotated) throw new AccountError('account_unknown');
        const account = await trxAccounts.load(accountId);
        await deps.audit.record(
          {
            type: 'account.updated',
            server: { id: account.serverId, name: await trxAccounts.serverName(account.serverId) },
            ...by,
            subject: { kind: 'account', id: account.id },
            details: { userid: account.userid, change: 'key_rotated', keyThumbprint: next.keyThumbprint },
          },
          trx,
        );
        return account;
      });
    },

    enrolViews,

    async loadAccount(accountId) {
      try {
        return await accounts.load(accountId);
      } catch (err) {
        if (err instanceof NotFoundError) throw new AccountError('account_unknown');
        throw err;
      }
    },
  };
}
