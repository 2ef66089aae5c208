// The shape of an NS channel handler and the checks several of them share.
import type { z } from 'zod';
import { MessageError } from '../../../protocol/index.js';
import type { NsMobileMessages } from '../../../protocol/mobile/ns.js';
import type { Random } from '../../common/clock.js';
import type { GeoIp } from '../../common/geoip/index.js';
import type { AccountAdminService } from '../accounts/admin.js';
import type { AccountService } from '../accounts/service.js';
import type { MobileLoginService } from '../logins/service.js';
import type { PushService } from '../push/service.js';
import type { Session } from '../sessions/model.js';
import type { TransactionService } from '../transactions/service.js';
import type { NsChannelContext } from './context.js';

export interface NsMobileServices {
  accounts: AccountService;
  /** Deletes an account with its audit event (the REST API's service). */
  accountAdmin: AccountAdminService;
  logins: MobileLoginService;
  /** Push logins (`login.push`), push keys and the "not me" policy. */
  push: PushService;
  /** Transactions to sign (`transaction.*`); absent: those requests are refused. */
  transactions?: TransactionService;
  random: Random;
  /** The browser's coarse location for the login challenge. */
  geoip: GeoIp;
}

type Requests = NsMobileMessages['requests'];

export type NsMobileHandler<K extends keyof Requests> = (
  body: z.output<Requests[K]['request']>,
  ctx: NsChannelContext,
  services: NsMobileServices,
) => Promise<z.input<Requests[K]['response']>>;

/** The channel's account; the endpoint only routes `login.*` to authenticated channels. */
export function requireAccount(ctx: NsChannelContext): string {
  if (ctx.accountId === null) throw new MessageError('forbidden', 'login needs an account key');
  return ctx.accountId;
}

/** The session behind a handle from `login.scan` on this very channel (as the scan left it). */
export function sessionOfHandle(ctx: NsChannelContext, handle: string): Session {
  const session = ctx.logins.get(handle);
  if (session === undefined) throw new MessageError('unknown_login', 'no such login on this channel');
  return session;
}

/** The transaction service, or `unavailable` on an NS built without one. */
export function requireTransactions(services: NsMobileServices): TransactionService {
  if (!services.transactions) throw new MessageError('unavailable', 'this server signs no transactions');
  return services.transactions;
}
