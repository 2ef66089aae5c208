// `login.push`: the app opened a push login from its MC mailbox; redeems it like `login.scan` redeems a code.
import { type NsMobileHandler, requireAccount } from './handler.js';
import { loginChallenge } from './login-challenge.js';

export const loginPush: NsMobileHandler<'login.push'> = async (body, ctx, services) => {
  await ctx.limit('scan');
  const opened = await services.push.open({
    server: ctx.server,
    accountId: requireAccount(ctx),
    requestId: body.request,
    code: body.code,
    ...(body.match !== undefined ? { match: body.match } : {}),
    origin: ctx.origin,
  });
  return loginChallenge(ctx, services, opened);
};
