// `enrol.begin`: shows the phone whom the enrol token is for, without using it.

import { serverInfo } from './context.js';
import type { NsMobileHandler } from './handler.js';

export const enrolBegin: NsMobileHandler<'enrol.begin'> = async (body, ctx, services) => {
  await ctx.limit('enrol');
  const preview = await services.accounts.beginEnrol(ctx.server, body.token);
  return {
    server: serverInfo(ctx.server),
    userid: preview.userid,
    info: preview.announceInfo,
    expiresAt: preview.expiresAt.getTime(),
  };
};
