// `login.decline`: the user refused the login, or reported that they did not start it (`not_me`).
import { type NsMobileHandler, requireAccount, sessionOfHandle } from './handler.js';

export const loginDecline: NsMobileHandler<'login.decline'> = async (body, ctx, services) => {
  const scanned = sessionOfHandle(ctx, body.login);
  await services.logins.decline({
    server: ctx.server,
    accountId: requireAccount(ctx),
    sessionId: scanned.id,
    scanned,
    reason: body.reason,
    origin: ctx.origin,
  });
  ctx.logins.delete(body.login);
  ctx.unmatched.delete(body.login);
  if (body.reason === 'not_me') {
    const account = await services.accounts.loadAccount(requireAccount(ctx));
    await services.push.applyNotMePolicy(ctx.server, account, ctx.origin);
  }
  return { status: 'declined' as const };
};
