// What `login.scan` and `login.push` both answer once the phone holds a login: a handle for this channel only
// and what the phone shows (server, user, browser context).
import { randomToken } from '../../common/clock.js';
import type { Session } from '../sessions/model.js';
import { maxLoginsPerChannel, type NsChannelContext, serverInfo } from './context.js';
import type { NsMobileServices } from './handler.js';

export function loginChallenge(
  ctx: NsChannelContext,
  services: NsMobileServices,
  opened: { session: Session; account: { userid: string }; matched?: boolean },
) {
  const { session, account } = opened;
  // The session id stays here; the phone gets a random handle that means nothing on another channel.
  const handle = randomToken(services.random, 16);
  if (ctx.logins.size >= maxLoginsPerChannel) {
    const oldest = ctx.logins.keys().next();
    if (!oldest.done) {
      ctx.logins.delete(oldest.value);
      ctx.unmatched.delete(oldest.value);
    }
  }
  ctx.logins.set(handle, session);
  // A push login opened without the browser's number may only be declined.
  if (opened.matched === false) ctx.unmatched.add(handle);
  return {
    login: handle,
    server: serverInfo(ctx.server),
    userid: account.userid,
    info: session.info,
    browser: {
      userAgent: session.userAgent || null,
      ip: session.ip || null,
      // From the address the session was created with, looked up now: a location is never stored.
      location: services.geoip.coarseLocation(session.ip),
    },
    expiresAt: session.expiresAt.getTime(),
  };
}
