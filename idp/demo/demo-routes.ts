// `/demo` (embedded mode): a relying party of the IdP's `default` server, so a new installation shows at once
// who logged in. GET /demo shows the login button or the user; POST /demo/login starts the code flow; GET
// /demo/callback redeems the code; POST /demo/logout ends the demo's session and the IdP's (RP-initiated).
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../../auth-server/common/logging.js';
import { renderErrorPage } from '../interaction/error-page.js';
import { formPageCsp } from '../interaction/oidc-pages.js';
import { renderTemplate, viewPath } from '../views.js';
import { type DemoClient, demoPath } from './demo-client.js';
import type { DemoRp } from './relying-party.js';
import { cookieSigner } from './signed-cookie.js';

const flowCookie = 'nextauth_demo_flow';
const sessionCookie = 'nextauth_demo';
/** Time to scan and confirm; the IdP's own interaction lasts longer, but a demo login is short. */
const flowSeconds = 600;
/** A callback carries code, state and iss: a few hundred characters; anything far longer is refused. */
const maxCallbackQuery = 4096;

const flowSchema = z.strictObject({
  verifier: z.string().max(200),
  state: z.string().max(200),
  nonce: z.string().max(200),
});
const sessionSchema = z.strictObject({ idToken: z.string().max(5000) });

export interface DemoRouterDeps {
  rp: DemoRp;
  client: DemoClient;
  issuer: string;
  publicUrl: string;
  secretKey: string;
  logger: Logger;
  now(): number;
}

export function demoRouter(deps: DemoRouterDeps): Router {
  const { rp, logger } = deps;
  const secure = deps.publicUrl.startsWith('https://');
  const flows = cookieSigner(deps.secretKey, 'flow');
  const sessions = cookieSigner(deps.secretKey, 'session');
  const loginTemplate = readFileSync(viewPath('demo.html'), 'utf8');
  const userTemplate = readFileSync(viewPath('demo-user.html'), 'utf8');
  // The forms post here and are answered with a redirect to the IdP, which `form-action` must allow too.
  const csp = formPageCsp([deps.publicUrl]);
  const log = logger.child({ component: 'demo' });

  /** Written by hand: koa's cookies refuse `Secure` on the plain-http hop behind a TLS proxy. */
  const setCookie = (ctx: Context, name: string, value: string, maxAge: number) => {
    const parts = [`${name}=${value}`, `Path=${demoPath}`, `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax'];
    if (secure) parts.push('Secure');
    ctx.append('Set-Cookie', parts.join('; '));
  };
  const page = (ctx: Context, html: string) => {
    ctx.set('Content-Security-Policy', csp);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = html;
  };
  const failed = (ctx: Context, status: number, error: string, description: string) =>
    renderErrorPage(ctx, status, { error, description, title: 'The demo login did not work' });

  /** The ID token of the demo's session while it is still valid (its tag checked, its `exp` ahead). */
  const loggedIn = (ctx: Context): { idToken: string; claims: Record<string, unknown> } | undefined => {
    const session = sessions.open(ctx.cookies.get(sessionCookie), sessionSchema);
    if (!session) return undefined;
    const claims = decodeJwt(session.idToken) as Record<string, unknown>;
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= deps.now()) return undefined;
    return { idToken: session.idToken, claims };
  };

  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : '—');

  const router = new Router();

  router.get(demoPath, (ctx) => {
    const found = loggedIn(ctx);
    const common = { clientId: deps.client.clientId, issuer: deps.issuer };
    if (!found) return page(ctx, renderTemplate(loginTemplate, common));
    const c = found.claims;
    const userid = text(c.preferred_username ?? c.sub);
    const groups = Array.isArray(c.groups) ? c.groups.map(String).join(', ') : '';
    page(
      ctx,
      renderTemplate(userTemplate, {
        ...common,
        userid,
        display: typeof c.name === 'string' && c.name !== '' ? `${c.name} (${userid})` : userid,
        name: text(c.name),
        email: text(c.email),
        groups: text(groups),
        claims: JSON.stringify(c, null, 2),
      }),
    );
  });

  router.post(`${demoPath}/login`, async (ctx) => {
    let started: Awaited<ReturnType<DemoRp['start']>>;
    try {
      started = await rp.start();
    } catch (err) {
      log.warn(
        { err: { name: (err as Error).name, message: (err as Error).message } },
        'demo discovery failed',
      );
      return failed(ctx, 502, 'discovery_failed', 'The IdP could not be reached. Try again in a moment.');
    }
    setCookie(ctx, flowCookie, flows.sign(started.flow), flowSeconds);
    ctx.status = 303;
    ctx.redirect(started.url.href);
  });

  router.get(`${demoPath}/callback`, async (ctx) => {
    const flow = flows.open(ctx.cookies.get(flowCookie), flowSchema);
    setCookie(ctx, flowCookie, '', 0);
    if (!flow)
      return failed(ctx, 400, 'login_not_started', 'This login was not started here, or it took too long.');
    // The IdP sends errors back here too (e.g. access_denied when the user declined on the phone).
    const error = ctx.query.error;
    if (typeof error === 'string') {
      const description = ctx.query.error_description;
      return failed(
        ctx,
        400,
        error.slice(0, 100),
        typeof description === 'string' ? description.slice(0, 500) : '',
      );
    }
    if (ctx.querystring.length > maxCallbackQuery)
      return failed(ctx, 414, 'invalid_request', 'The callback URL is too long.');
    try {
      const { idToken } = await rp.finish(ctx.querystring, flow);
      setCookie(ctx, sessionCookie, sessions.sign({ idToken }), 3600);
    } catch (err) {
      const e = err as { name?: string; error?: string; code?: string; message?: string };
      log.info({ err: { name: e.name, code: e.error ?? e.code } }, 'demo callback refused');
      return failed(ctx, 400, e.error ?? e.code ?? 'invalid_response', e.message ?? '');
    }
    ctx.status = 303;
    ctx.redirect(demoPath);
  });

  router.post(`${demoPath}/logout`, async (ctx) => {
    const found = loggedIn(ctx);
    setCookie(ctx, sessionCookie, '', 0);
    ctx.status = 303;
    if (!found) return ctx.redirect(demoPath);
    try {
      ctx.redirect((await rp.logoutUrl(found.idToken)).href);
    } catch {
      // The demo's session is gone already; the IdP's stays until the user logs out there.
      ctx.redirect(demoPath);
    }
  });

  return router;
}
