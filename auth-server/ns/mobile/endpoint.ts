// The `/ns/mobile` WebSocket endpoint: secure-channel handshake as a virtual server, then the NS handlers
// allowed for the channel's kind (anonymous → enrolment, account key → login).
import { accept, Channel, ChannelError, MessageError, type Transport } from '../../../protocol/index.js';
import { type NsMobileMessages, nsMobileMessages } from '../../../protocol/mobile/ns.js';
import type { Clock, Random } from '../../common/clock.js';
import { type GeoIp, noGeoIp } from '../../common/geoip/index.js';
import type { MobileConnectionInfo, MobileEndpoint } from '../../common/http/mobile-sockets.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { AccountAdminService } from '../accounts/admin.js';
import type { AccountService } from '../accounts/service.js';
import type { MobileLoginService } from '../logins/service.js';
import type { PushService } from '../push/service.js';
import type { ServerIdentity, ServerIdentityService } from '../servers/identity.js';
import type { TransactionService } from '../transactions/service.js';
import { accountDelete } from './account-delete.js';
import { accountRotate } from './account-rotate.js';
import type { ChannelKind, NsChannelContext } from './context.js';
import { enrolBegin } from './enrol-begin.js';
import { enrolComplete } from './enrol-complete.js';
import { toMessageError } from './errors.js';
import type { NsMobileHandler, NsMobileServices } from './handler.js';
import { channelLimiter, type MobileLimits } from './limits.js';
import { loginConfirm } from './login-confirm.js';
import { loginDecline } from './login-decline.js';
import { loginPush } from './login-push.js';
import { loginScan } from './login-scan.js';
import { transactionConfirm, transactionDecline, transactionGet } from './transaction.js';

export interface NsMobileOptions {
  identities: ServerIdentityService;
  accounts: AccountService;
  /** `account.delete` deletes through it (one place for the audit event and the locking). */
  accountAdmin: AccountAdminService;
  logins: MobileLoginService;
  push: PushService;
  /** Transactions to sign; absent: `transaction.*` requests are refused. */
  transactions?: TransactionService;
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Default: no database (only the local-network label). */
  geoip?: GeoIp;
  limits?: MobileLimits;
  /** Handshake deadline (default of the protocol: 10 s). */
  handshakeTimeoutMs?: number;
}

export function createNsMobileEndpoint(options: NsMobileOptions): MobileEndpoint {
  return {
    path: '/ns/mobile',
    accept(transport, info) {
      void serveChannel(transport, info, options).catch((err: unknown) =>
        options.logger.error({ err }, 'ns channel setup failed'),
      );
    },
  };
}

async function serveChannel(transport: Transport, info: MobileConnectionInfo, options: NsMobileOptions) {
  const { logger } = options;
  // Filled in by the handshake callbacks: the server the client named and the account its key belongs to.
  const resolved: { server?: ServerIdentity; accountId?: string; keyThumbprint?: string } = {};
  let session: Awaited<ReturnType<typeof accept>>;
  try {
    session = await accept(transport, {
      resolveTarget: async (target) => {
        if (target.kind !== 'ns') return null;
        const server = await options.identities.serverIdentity(target.id);
        if (!server) return null;
        resolved.server = server;
        return { signer: server.signer, succession: server.succession };
      },
      authorizeClient: async (client) => {
        const server = resolved.server;
        if (!server) return false;
        // Anonymous: an enrolment, whose authority is the enrol token inside the channel.
        if (client.thumbprint === null) return true;
        const account = await options.accounts.findAccountByThumbprint(server.serverId, client.thumbprint);
        if (!account || account.blockedAt !== null) return false;
        resolved.accountId = account.id;
        resolved.keyThumbprint = client.thumbprint;
        return true;
      },
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    });
  } catch (err) {
    // accept() has already alerted the client and closed the transport.
    const code = err instanceof ChannelError ? err.code : 'internal';
    logger.debug({ code, ip: info.ip }, 'ns channel handshake failed');
    return;
  }
  const { server, accountId = null, keyThumbprint = null } = resolved;
  if (!server) {
    await session.abort('internal', 'no server identity');
    return;
  }
  const ctx: NsChannelContext = {
    server,
    kind: accountId === null ? 'enrol' : 'login',
    accountId,
    keyThumbprint,
    origin: { ip: info.ip ?? null, userAgent: info.userAgent ?? null },
    transcriptHash: session.info.transcriptHash,
    logins: new Map(),
    unmatched: new Set(),
    limit: channelLimiter(options.kv, options.clock, session.info.transcriptHash, info.ip, options.limits),
  };
  const services: NsMobileServices = {
    accounts: options.accounts,
    accountAdmin: options.accountAdmin,
    logins: options.logins,
    push: options.push,
    ...(options.transactions ? { transactions: options.transactions } : {}),
    random: options.random,
    geoip: options.geoip ?? noGeoIp,
  };
  const channel = new Channel(session, nsMobileMessages);
  const install = <K extends keyof NsMobileMessages['requests'] & string>(
    type: K,
    kind: ChannelKind,
    handler: NsMobileHandler<K>,
  ) =>
    channel.onRequest(type, async (body) => {
      if (ctx.kind !== kind) throw new MessageError('forbidden', `${type} is not allowed on this channel`);
      try {
        return await handler(body, ctx, services);
      } catch (err) {
        throw toMessageError(err, logger, type);
      }
    });
  install('enrol.begin', 'enrol', enrolBegin);
  install('enrol.complete', 'enrol', enrolComplete);
  channel.onRequest('login.scan', async (body) => {
    try {
      if (ctx.kind === 'login') return await loginScan(body, ctx, services);
      if (ctx.kind === 'deleted')
        throw new MessageError('forbidden', 'the account of this channel was deleted');
      // An anonymous channel holds no account: the phone tells the server it has none for it (NOACCOUNTS).
      await ctx.limit('scan');
      await services.logins.noAccount({ server: ctx.server, code: body.code });
    } catch (err) {
      throw toMessageError(err, logger, 'login.scan');
    }
    throw new MessageError('no_account', 'this phone has no account on this server; enrol first');
  });
  install('login.push', 'login', loginPush);
  install('login.confirm', 'login', loginConfirm);
  install('login.decline', 'login', loginDecline);
  install('transaction.get', 'login', transactionGet);
  install('transaction.confirm', 'login', transactionConfirm);
  install('transaction.decline', 'login', transactionDecline);
  install('account.delete', 'login', accountDelete);
  install('account.rotate', 'login', accountRotate);
  void session.closed.then((err) => {
    if (err) logger.debug({ code: err.code, remote: err.remote, ip: info.ip }, 'ns channel ended');
  });
}
