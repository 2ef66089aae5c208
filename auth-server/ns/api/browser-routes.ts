// Browser-facing session endpoints of one virtual server, authenticated by the nonce cookie only.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { returningUserCookieName, returningUserMaxAgeSeconds } from '../push/returning-user.js';
import { serverNameSchema } from '../servers/model.js';
import { loggedInSessionMs } from '../sessions/lifetimes.js';
import { effectiveState, pendingStates, type Session, toLoginStatus } from '../sessions/model.js';
import type { NsState } from './auth.js';
import { defaultLimits, type NsApiDeps } from './context.js';
import { serializeSessionCookie, sessionCookieName } from './cookies.js';
import { noStore } from './no-store.js';
import { mapDomainErrors } from './problems.js';
import { qrImageDataUrl, qrImageFormatSchema } from './qr-image.js';
import { createRateLimiter } from './rate-limit.js';
import { streamSessionEvents } from './sse.js';

/**
 * The body must be JSON (`{}`): a cross-site form cannot send application/json without a CORS preflight,
 * so another site cannot replace the browser's login session (login CSRF).
 */
const browserSessionBody = z.strictObject({});

export function registerBrowserRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { sessions, servers, clock } = deps;
  const secure = deps.publicUrl.startsWith('https:');
  const limiter = createRateLimiter(deps.kv, clock, {
    name: 'ns:browser-session',
    limit: deps.limits?.browserSessionsPerMinute ?? defaultLimits.browserSessionsPerMinute,
    windowMs: 60_000,
  });
  const errors = mapDomainErrors();

  const serverName = (ctx: Context): string => {
    const parsed = serverNameSchema.safeParse(ctx.params.server);
    if (!parsed.success) throw problems.notFound('No such virtual server');
    return parsed.data;
  };

  /** The session of this server named by the cookie, or undefined (no, foreign or unknown cookie). */
  const cookieSession = async (
    ctx: Context,
    server: string,
  ): Promise<{ session: Session; nonce: string } | undefined> => {
    const nonce = ctx.cookies.get(sessionCookieName(server, secure));
    if (!nonce) return undefined;
    const session = await sessions.findByNonce(nonce);
    return session && session.serverName === server ? { session, nonce } : undefined;
  };

  const imageFormat = (ctx: Context) => {
    const parsed = qrImageFormatSchema.safeParse(ctx.query.img);
    if (!parsed.success) throw problems.badRequest('img must be svg or png');
    return parsed.data;
  };

  const requireCookieSession = async (ctx: Context): Promise<{ session: Session; nonce: string }> => {
    const found = await cookieSession(ctx, serverName(ctx));
    if (!found) throw problems.unauthorized('No login session in this browser');
    return found;
  };

  // Starts (or resumes, on a page reload) the browser's login session; the nonce goes only into the cookie.
  router.post('/servers/:server/browser-session', noStore, errors, async (ctx) => {
    const server = serverName(ctx);
    await readJson(ctx, browserSessionBody);
    const existing = (await cookieSession(ctx, server))?.session;
    if (existing && pendingStates.includes(effectiveState(existing, clock.now()))) {
      ctx.body = toLoginStatus(existing, clock.now());
      return;
    }
    const found = await servers.findByName(server);
    if (!found) throw problems.notFound('No such virtual server');
    await limiter.hit(ctx.ip);
    const { nonce, session } = await sessions.createSession({
      server: found,
      userAgent: ctx.get('user-agent'),
      ip: ctx.ip,
    });
    ctx.append(
      'Set-Cookie',
      serializeSessionCookie(sessionCookieName(server, secure), nonce, {
        secure,
        maxAgeSeconds: loggedInSessionMs / 1000,
      }),
    );
    ctx.status = 201;
    ctx.body = toLoginStatus(session, clock.now());
  });

  // What the login page shows of the server it logs into: public by nature (name, logo, colours and the app
  // link are on every login page of the server), so no cookie; only a data: logo, since the page loads
  // nothing third-party.
  router.get('/servers/:server/branding', errors, async (ctx) => {
    const server = await servers.findByName(serverName(ctx));
    if (!server) throw problems.notFound('No such virtual server');
    ctx.set('Cache-Control', 'public, max-age=60');
    ctx.body = {
      name: server.name,
      displayName: server.displayName,
      logo: server.logo?.startsWith('data:') ? server.logo : null,
      accentLight: server.accentLight,
      accentDark: server.accentDark,
      appLink: server.appLink,
      recoveryCodes: server.recoveryCodes,
    };
  });

  router.get('/servers/:server/session', noStore, errors, async (ctx) => {
    const { session } = await requireCookieSession(ctx);
    const status = toLoginStatus(session, clock.now());
    // A successful login makes this browser a returning user of that account (push login, push-routes.ts).
    if (status.loggedin && session.accountId !== null && deps.push && deps.returningUsers)
      ctx.append(
        'Set-Cookie',
        serializeSessionCookie(
          returningUserCookieName(session.serverName, secure),
          deps.returningUsers.issue(session.serverName, session.accountId),
          { secure, maxAgeSeconds: returningUserMaxAgeSeconds },
        ),
      );
    ctx.body = status;
  });

  router.get('/servers/:server/session/qr', noStore, errors, async (ctx) => {
    const { nonce, session } = await requireCookieSession(ctx);
    const img = imageFormat(ctx);
    const lc = await sessions.currentLoginCode(nonce, session);
    ctx.body = {
      qrData: lc.qrData,
      qrUri: lc.qrUri,
      expiresAt: lc.expiresAt.toISOString(),
      refreshAt: lc.refreshAt.toISOString(),
      ...(img ? { img: await qrImageDataUrl(lc.qrUri, img) } : {}),
    };
  });

  router.get('/servers/:server/session/events', errors, async (ctx) => {
    const { session } = await requireCookieSession(ctx);
    await streamSessionEvents(
      ctx,
      { sessionId: session.id, status: sessions.statusById, kv: deps.kv, logger: deps.logger },
      deps.sse,
    );
  });
}
