// The enrol page's browser endpoints (no API key): open the view with the view token from the page URL's
// fragment (the first browser claims it and gets an httpOnly cookie), then follow it over SSE with that cookie.

import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { parseEnrolUri } from '../../../protocol/mobile/uris.js';
import { visualHash } from '../../../protocol/visual-hash.js';
import { HttpProblem, type ProblemCode, type ProblemDetails, problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import {
  EnrolViewError,
  type EnrolViewErrorCode,
  type EnrolViewStatus,
} from '../accounts/enrol-view-service.js';
import { serverNameSchema } from '../servers/model.js';
import type { NsState } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { qrImageDataUrl } from './qr-image.js';
import { createRateLimiter } from './rate-limit.js';
import { streamStates } from './sse.js';

/** JSON only, like the login's browser session: a cross-site form cannot claim a view for its own browser. */
const openBody = z.strictObject({ token: z.string().min(1).max(64) });
const maxOpenBody = 256;

/** Views opened per client address and minute: a page opens one; guessing tokens needs millions. */
export const defaultEnrolViewsPerMinute = 30;

/** The view's problem, with the `reason` the page shows a state for. */
export class EnrolViewProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: EnrolViewErrorCode,
    detail: string,
  ) {
    super(status, code, detail);
  }
  override toJSON(): ProblemDetails & { reason: EnrolViewErrorCode } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

const statusOf: Record<EnrolViewErrorCode, [number, ProblemCode]> = {
  enrol_view_unknown: [404, 'not_found'],
  enrol_view_expired: [409, 'conflict'],
  enrol_view_used: [409, 'conflict'],
  enrol_view_claimed: [409, 'conflict'],
};

/** `__Host-` on https (Secure, Path=/, host-only), per server; Strict: only the page itself sends it. */
export function enrolViewCookieName(server: string, secure: boolean): string {
  return `${secure ? '__Host-' : ''}nextauth_enrol_${server}`;
}

const finalStates: readonly EnrolViewStatus['state'][] = ['enrolled', 'expired'];

export function registerEnrolViewRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { accounts, clock } = deps;
  const secure = deps.publicUrl.startsWith('https:');
  const limiter = createRateLimiter(deps.kv, clock, {
    name: 'ns:enrol-view',
    limit: deps.limits?.enrolViewsPerMinute ?? defaultEnrolViewsPerMinute,
    windowMs: 60_000,
  });

  const serverName = (ctx: Context): string => {
    const parsed = serverNameSchema.safeParse(ctx.params.server);
    if (!parsed.success) throw problems.notFound('No such virtual server');
    return parsed.data;
  };

  const viewErrors = async (_ctx: Context, next: () => Promise<unknown>) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof EnrolViewError)) throw err;
      const [status, code] = statusOf[err.code];
      throw new EnrolViewProblem(status, code, err.code, err.message);
    }
  };

  /** The claimed view's status for this browser, or 401. */
  const requireClaim = async (ctx: Context) => {
    const server = serverName(ctx);
    const secret = ctx.cookies.get(enrolViewCookieName(server, secure));
    const found = secret ? await accounts.enrolViews.status(server, secret) : undefined;
    if (!found) throw problems.unauthorized('No enrol page opened in this browser');
    return found;
  };

  router.post('/servers/:server/enrol-view', noStore, viewErrors, async (ctx) => {
    const server = serverName(ctx);
    // Counted before anything is looked up, refusals included: this is where tokens would be guessed.
    await limiter.hit(ctx.ip);
    const { token } = await readJson(ctx, openBody, maxOpenBody);
    const cookie = enrolViewCookieName(server, secure);
    const view = await accounts.enrolViews.open(server, token, ctx.cookies.get(cookie));
    if (view.browserSecret) {
      const maxAge = Math.max(0, Math.ceil((view.expiresAt.getTime() - clock.now()) / 1000));
      const parts = [
        `${cookie}=${view.browserSecret}`,
        'Path=/',
        `Max-Age=${maxAge}`,
        'HttpOnly',
        'SameSite=Strict',
      ];
      if (secure) parts.push('Secure');
      ctx.append('Set-Cookie', parts.join('; '));
    }
    const { fp } = parseEnrolUri(view.uri);
    ctx.body = {
      state: 'waiting',
      server,
      expiresAt: view.expiresAt.toISOString(),
      qrUri: view.uri,
      img: await qrImageDataUrl(view.uri, 'svg'),
      keyFingerprint: fp,
      visualHash: visualHash(fp),
      announceInfo: view.announceInfo,
    };
  });

  router.get('/servers/:server/enrol-view', noStore, async (ctx) => {
    ctx.body = (await requireClaim(ctx)).status;
  });

  router.get('/servers/:server/enrol-view/events', async (ctx) => {
    const server = serverName(ctx);
    const { tokenHash } = await requireClaim(ctx);
    const secret = ctx.cookies.get(enrolViewCookieName(server, secure)) ?? '';
    await streamStates(
      ctx,
      {
        read: async () => (await accounts.enrolViews.status(server, secret))?.status,
        subscribe: (cue) => accounts.enrolViews.subscribe(tokenHash, () => cue()),
        isFinal: (status) => finalStates.includes(status.state),
        logger: deps.logger,
      },
      deps.sse,
    );
  });
}
