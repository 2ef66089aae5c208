// `login.scan`: uses the login code up and answers what the phone shows, with a handle for this channel only.
import { type NsMobileHandler, requireAccount } from './handler.js';
import { loginChallenge } from './login-challenge.js';

export const loginScan: NsMobileHandler<'login.scan'> = async (body, ctx, services) => {
  await ctx.limit('scan');
  const opened = await services.logins.scan({
    server: ctx.server,
    accountId: requireAccount(ctx),
    code: body.code,
  });
  return loginChallenge(ctx, services, opened);
};
