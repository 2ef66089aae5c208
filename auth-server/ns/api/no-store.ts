// Answers that carry session state or codes must never be cached by a browser or proxy.
import type { RouterMiddleware } from '@koa/router';
import type { NsState } from './auth.js';

export const noStore: RouterMiddleware<NsState> = async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  await next();
};
