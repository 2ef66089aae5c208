// `login.push`: the app opened a push login from its MC mailbox; redeems it like `login.scan` redeems a code.
import { randomToken } from '../../common/clock.js';
import { maxLoginsPerChannel, serverInfo } from './context.js';
import { type NsMobileHandler, requireAccount } from './handler.js';

export const loginPush: NsMobileHandler<'login.push'> = async (body, ctx, services) => {
  await ctx.limit('scan');
  const { session, account, matched } = await services.push.open({
    server: ctx.server,
    accountId: requireAccount(ctx),
    requestId: body.request,
    code: body.code,
    ...(body.match !== undefined ? { match: body.match } : {}),
    origin: ctx.origin,
  });
  const handle = randomToken(services.random, 16);
  if (ctx.logins.size >= maxLoginsPerChannel) {
    const oldest = ctx.logins.keys().next();
    if (!oldest.done) {
      ctx.logins.delete(oldest.value);
      ctx.unmatched.delete(oldest.value);
    }
  }
  ctx.logins.set(handle, session);
  if (!matched) ctx.unmatched.add(handle);
  return {
    login: handle,
    server: serverInfo(ctx.server),
    userid: account.userid,
    info: session.info,
    browser: {
      userAgent: session.userAgent || null,
      ip: session.ip || null,
      location: services.geoip.coarseLocation(session.ip),
    },
    expiresAt: session.expiresAt.getTime(),
  };
};
