// `enrol.complete`: binds the new account key to the userid of the token, attested on this channel.

import { serverInfo } from './context.js';
import type { NsMobileHandler } from './handler.js';
import { provenPushKey } from './push-key.js';

export const enrolComplete: NsMobileHandler<'enrol.complete'> = async (body, ctx, services) => {
  await ctx.limit('enrol');
  const pushKey = await provenPushKey(body, ctx.transcriptHash);
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
  if (pushKey !== undefined) await services.push.setPushKey(account.id, pushKey);
  return { accountId: account.id, userid: account.userid, server: serverInfo(ctx.server) };
};
