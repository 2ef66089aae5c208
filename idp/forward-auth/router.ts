// `{PUBLIC_URL}/forward-auth/{server}` (DESIGN.md §5): the endpoint Traefik ForwardAuth, Caddy forward_auth
// and nginx auth_request ask before passing a request upstream. 200 + identity headers, 302 / 401 to the
// login page, or 403; one small step per concern, the decision itself in decide.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import { Counter } from 'prom-client';
import type { Clock } from '../../auth-server/common/clock.js';
import { problems } from '../../auth-server/common/errors.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { Metrics } from '../../auth-server/common/metrics.js';
import type { NsPeer, NsUserProfile } from '../../auth-server/common/peers.js';
import { TtlCache } from '../../auth-server/common/ttl-cache.js';
import { renderErrorPage } from '../interaction/error-page.js';
import type { IdpSession, IdpSessions } from '../session/types.js';
import { type Decision, decide } from './decide.js';
import { identityHeaders } from './identity-headers.js';
import { originalRequest } from './original-request.js';
import { type ReturnUrlScope, safeReturnUrl } from './return-url.js';
import type { RulesSource } from './rules-file.js';

export interface ForwardAuthDeps extends ReturnUrlScope {
  sessions: IdpSessions;
  ns: Pick<NsPeer, 'findServer' | 'userProfile'>;
  rules: RulesSource;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** How long a user's NS profile (groups, name, attributes) is reused for one session. */
  profileTtlMs?: number;
}

/** Outcomes counted in `nextauth_forward_auth_decisions_total{decision}`. */
type Outcome = Decision['kind'] | 'step_up' | 'bad_request' | 'unknown_server';

export function forwardAuthRouter(deps: ForwardAuthDeps): Router {
  const { sessions, ns, clock, logger } = deps;
  const decisions = deps.metrics
    ? new Counter({
        name: 'nextauth_forward_auth_decisions_total',
        help: 'Forward-auth answers by decision',
        labelNames: ['decision'] as const,
        registers: [deps.metrics.registry],
      })
    : undefined;
  // Every check reads the profile; a short per-session reuse keeps checks fast without a stale group for long.
  const profiles = new TtlCache<NsUserProfile | undefined>(deps.profileTtlMs ?? 10_000, 10_000, clock);
  const servers = new TtlCache<boolean>(30_000, 1_000, clock);

  // Only servers that exist are remembered: made-up names cannot crowd them out, and a new server answers
  // at once.
  const serverExists = async (server: string): Promise<boolean> => {
    if (servers.has(server)) return true;
    const exists = (await ns.findServer(server)) !== undefined;
    if (exists) servers.set(server, true);
    return exists;
  };

  const profileOf = async (server: string, session: IdpSession): Promise<NsUserProfile | undefined> => {
    const key = `${session.id}`;
    if (profiles.has(key)) return profiles.get(key);
    const profile = await ns.userProfile(server, session.userid);
    profiles.set(key, profile);
    return profile;
  };

  const count = (outcome: Outcome) => decisions?.inc({ decision: outcome });

  const router = new Router();
  router.all('/forward-auth/:server', async (ctx) => {
    const server = ctx.params.server ?? '';
    // Proxies must ask again for every request: a cached "yes" would outlive a logout.
    ctx.set('Cache-Control', 'no-store');
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(server) || !(await serverExists(server))) {
      count('unknown_server');
      throw problems.notFound('No such virtual server');
    }
    const original = originalRequest(ctx.req.headers, ctx.method);
    if ('problem' in original) {
      count('bad_request');
      throw problems.badRequest(original.problem);
    }
    const session = await sessions.current(ctx, server);
    const ruleSet = deps.rules.current();
    const profile = session ? await profileOf(server, session) : undefined;
    const decision = decide(ruleSet, original, session, profile, Math.floor(clock.now() / 1000));
    // Host, method and path only: the query and the cookies may carry secrets. Built only when debug is
    // on: this runs for every request of every protected app.
    const log = ctx.state.log as Logger | undefined;
    if (log?.isLevelEnabled('debug'))
      log.debug(
        {
          server,
          host: original.host,
          method: original.method,
          path: original.path,
          decision: decision.kind,
          reason: 'reason' in decision ? decision.reason : undefined,
          rule: decision.rule,
          userid: session?.userid,
        },
        'forward-auth',
      );
    if (decision.kind === 'allow' && session) {
      count('allow');
      ctx.set(identityHeaders(ruleSet.headers, session, profile));
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    if (decision.kind === 'forbidden') {
      count('forbidden');
      forbidden(ctx);
      return;
    }
    count(decision.kind === 'login' && decision.reason === 'step_up' ? 'step_up' : 'login');
    const maxAge = decision.kind === 'login' ? decision.maxAge : undefined;
    toLogin(ctx, server, original.url.href, original.nginx, maxAge);
  });

  const toLogin = (ctx: Context, server: string, target: string, nginx: boolean, maxAge?: number) => {
    const returnTo = safeReturnUrl(target, deps);
    if (returnTo === undefined) {
      // The IdP session cookie never reaches this host, so a login could not help (and must not become an
      // open redirect): a set-up error, told to the browser and to the operator.
      logger.warn(
        { server, host: new URL(target).host },
        'forward-auth: protected host outside NEXTAUTH_PUBLIC_URL host and NEXTAUTH_COOKIE_DOMAIN',
      );
      outOfScope(ctx);
      return;
    }
    if (!acceptsHtml(ctx)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Cookie realm="nextauth"');
      ctx.body = problems.unauthorized('A login at the IdP is needed').toJSON();
      ctx.type = 'application/problem+json';
      return;
    }
    const login = new URL(`${deps.publicUrl}/login/${encodeURIComponent(server)}`);
    login.searchParams.set('return_to', returnTo);
    if (maxAge !== undefined) login.searchParams.set('max_age', String(maxAge));
    const location = login.href;
    ctx.set('Location', location);
    // nginx turns a redirect from auth_request into a 500; its `error_page 401` follows our Location.
    ctx.status = nginx ? 401 : 302;
    ctx.type = 'text/plain';
    ctx.body = nginx ? 'Login needed' : `Redirecting to ${location}`;
  };

  return router;
}

/** DESIGN.md §5: a browser is a request whose Accept names text/html. */
function acceptsHtml(ctx: Context): boolean {
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(ctx.get('Accept'));
}

function outOfScope(ctx: Context): void {
  const detail =
    'This site is not under the domain of the login cookie; the administrator must fix the set-up';
  if (acceptsHtml(ctx)) {
    renderErrorPage(ctx, 403, {
      error: 'misconfigured',
      title: 'Login not possible here',
      description: detail,
    });
    return;
  }
  ctx.status = 403;
  ctx.body = problems.forbidden(detail).toJSON();
  ctx.type = 'application/problem+json';
}

function forbidden(ctx: Context): void {
  if (acceptsHtml(ctx)) {
    renderErrorPage(ctx, 403, {
      error: 'access_denied',
      title: 'Access denied',
      description: 'You are logged in, but this page is not open to your account.',
    });
    return;
  }
  ctx.status = 403;
  ctx.body = problems.forbidden('The access rules do not admit this user here').toJSON();
  ctx.type = 'application/problem+json';
}
