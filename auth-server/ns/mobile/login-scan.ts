// `login.scan`: uses the login code up and answers what the phone shows, with a handle for this channel only.
import { randomToken } from '../../common/clock.js';
import { maxLoginsPerChannel, serverInfo } from './context.js';
import { type NsMobileHandler, requireAccount } from './handler.js';

export const loginScan: NsMobileHandler<'login.scan'> = async (body, ctx, services) => {
  await ctx.limit('scan');
  const { session, account } = await services.logins.scan({
    server: ctx.server,
    accountId: requireAccount(ctx),
    code: body.code,
  });
  // The session id stays here; the phone gets a random handle that means nothing on another channel.
  const handle = randomToken(services.random, 16);
  if (ctx.logins.size >= maxLoginsPerChannel) {
    const oldest = ctx.logins.keys().next();
    if (!oldest.done) ctx.logins.delete(oldest.value);
  }
  ctx.logins.set(handle, session);
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
};
