// `enrol.complete`: binds the new account key to the userid of the token, attested on this channel.

import { serverInfo } from './context.js';
import type { NsMobileHandler } from './handler.js';

export const enrolComplete: NsMobileHandler<'enrol.complete'> = async (body, ctx, services) => {
  await ctx.limit('enrol');
  const account = await services.accounts.completeEnrol({
    server: ctx.server,
    token: body.token,
    accountKey: body.accountKey,
    attestation: body.attestation,
    transcriptHash: ctx.transcriptHash,
    description: body.description,
    clientVersion: body.clientVersion,
    sdkConfig: body.sdkConfig,
    origin: ctx.origin,
  });
  if (body.pushKey !== undefined) await services.push.setPushKey(account.id, body.pushKey);
  return { accountId: account.id, userid: account.userid, server: serverInfo(ctx.server) };
};
