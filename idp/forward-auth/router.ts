// `{PUBLIC_URL}/forward-auth/{server}` (DESIGN.md §5): the endpoint Traefik ForwardAuth, Caddy forward_auth
// and nginx auth_request ask before passing a request upstream. 200 + identity headers, 302 / 401 to the
// login page, or 403; one small step per concern, the decision itself in decide.ts.
//
// It runs for every request of every protected app, so it is a `front` middleware of the HTTP app (ahead of
// the common request-id / access-log / HTTP-metrics middleware and of the routers, with a path test instead
// of matching every mounted route) with its own cheap metrics, and an authenticated check on warm caches
// does no I/O and little allocation: see "Forward-auth speed" in docs/decisions.md.
import type { Context, Middleware } from 'koa';
import { Counter, Histogram } from 'prom-client';
import type { Clock } from '../../auth-server/common/clock.js';
import { problems } from '../../auth-server/common/errors.js';
import { setSecurityHeaders } from '../../auth-server/common/http/app.js';
import { problemMiddleware } from '../../auth-server/common/http/problem-middleware.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { Metrics } from '../../auth-server/common/metrics.js';
import type { NsPeer, NsUserProfile } from '../../auth-server/common/peers.js';
import { TtlCache } from '../../auth-server/common/ttl-cache.js';
import { renderErrorPage } from '../interaction/error-page.js';
import type { IdpSession, IdpSessions } from '../session/types.js';
import { type Decision, decide } from './decide.js';
import { type HeaderMapping, identityHeaders } from './identity-headers.js';
import { originalRequest } from './original-request.js';
import { type ReturnUrlScope, safeReturnUrl } from './return-url.js';
import type { RulesSource } from './rules-file.js';

/** The route template (the name the HTTP metrics of other routes would give it). */
export const forwardAuthRoute = '/forward-auth/:server';
const forwardAuthPath = /^\/forward-auth\/([^/]+)\/?$/i;
const serverName = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** On every answer: proxies must ask again for every request, as a cached "yes" would outlive a logout. */
const noStore = 'no-store';

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
const outcomes: readonly Outcome[] = [
  'allow',
  'forbidden',
  'login',
  'step_up',
  'bad_request',
  'unknown_server',
];

/**
 * A session's NS profile as fetched, with the identity headers built from it on first use. A session's
 * userid, amr, acr and auth_time never change, so the headers only change with a new fetch of the profile
 * or a reload of the header mapping (compared by identity).
 */
interface ProfileEntry {
  profile: NsUserProfile | undefined;
  /** The whole header block of the 200, as `writeHead` takes it (name, value, name, value, ...). */
  built?: { mapping: HeaderMapping; headers: string[] };
}

/**
 * The forward-auth endpoint as a koa middleware: answers `/forward-auth/{server}` and passes everything else
 * on. Mounted as a `front` middleware of `createHttpApp`: it renders its own problem JSON, sets the security
 * headers on every answer a browser may see (not on the 200, which the proxies never pass on), and counts
 * itself in `nextauth_forward_auth_decisions_total` and `nextauth_forward_auth_duration_seconds` instead of
 * the per-route HTTP metrics.
 */
export function forwardAuthMiddleware(deps: ForwardAuthDeps): Middleware {
  const { sessions, ns, clock, logger } = deps;
  // Plain numbers per request, handed to prom-client when scraped (its `inc` hashes and validates labels).
  const tally = new Map<Outcome, number>(outcomes.map((o) => [o, 0]));
  const count = (outcome: Outcome) => tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  if (deps.metrics)
    new Counter({
      name: 'nextauth_forward_auth_decisions_total',
      help: 'Forward-auth answers by decision',
      labelNames: ['decision'] as const,
      registers: [deps.metrics.registry],
      collect() {
        this.reset();
        for (const [decision, n] of tally) if (n > 0) this.inc({ decision }, n);
      },
    });
  const duration = deps.metrics
    ? new Histogram({
        name: 'nextauth_forward_auth_duration_seconds',
        help: 'Time to answer a forward-auth check',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers: [deps.metrics.registry],
      })
    : undefined;
  const problemJson = problemMiddleware(logger);
  // Every check reads the profile; a short per-session reuse keeps checks fast without a stale group for long.
  const profiles = new TtlCache<ProfileEntry>(deps.profileTtlMs ?? 10_000, 10_000, clock);
  const servers = new TtlCache<boolean>(30_000, 1_000, clock);
  // Concurrent misses of the same key share one lookup: when an entry expires under load, every connection
  // would otherwise ask NS at once (and wait for all of those answers).
  const profileLookups = new Map<string, Promise<ProfileEntry>>();
  const serverLookups = new Map<string, Promise<boolean>>();

  // Only servers that exist are remembered: made-up names cannot crowd them out, and a new server answers
  // at once.
  const serverExists = (server: string): boolean | Promise<boolean> => {
    if (servers.has(server)) return true;
    let lookup = serverLookups.get(server);
    if (!lookup) {
      lookup = ns
        .findServer(server)
        .then((found) => {
          if (found !== undefined) servers.set(server, true);
          return found !== undefined;
        })
        .finally(() => serverLookups.delete(server));
      serverLookups.set(server, lookup);
    }
    return lookup;
  };

  const profileOf = (server: string, session: IdpSession): ProfileEntry | Promise<ProfileEntry> => {
    const key = session.id;
    const cached = profiles.get(key);
    if (cached) return cached;
    let lookup = profileLookups.get(key);
    if (!lookup) {
      lookup = ns
        .userProfile(server, session.userid)
        .then((profile) => {
          const entry: ProfileEntry = { profile };
          profiles.set(key, entry);
          return entry;
        })
        .finally(() => profileLookups.delete(key));
      profileLookups.set(key, lookup);
    }
    return lookup;
  };

  const headersOf = (entry: ProfileEntry, mapping: HeaderMapping, session: IdpSession) => {
    if (entry.built?.mapping !== mapping) {
      const headers = ['Cache-Control', noStore];
      for (const [name, value] of Object.entries(identityHeaders(mapping, session, entry.profile)))
        headers.push(name, value);
      headers.push('Content-Length', '0');
      entry.built = { mapping, headers };
    }
    return entry.built.headers;
  };

  const check = async (ctx: Context, server: string) => {
    if (!serverName.test(server) || !(await serverExists(server))) {
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
    const entry = session ? await profileOf(server, session) : undefined;
    const profile = entry?.profile;
    const decision = decide(ruleSet, original, session, profile, Math.floor(clock.now() / 1000));
    // Host, method and path only: the query and the cookies may carry secrets. Built only when debug is
    // on (the line other routes get from the common middleware, also debug): this runs for every request
    // of every protected app.
    if (logger.isLevelEnabled('debug'))
      logger.debug(
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
    if (decision.kind === 'allow' && session && entry) {
      count('allow');
      // Straight to node: koa's body handling (type lookup, length, its own header map) is for bodies, and
      // this answer is a fixed header block and nothing else. Nothing else runs before it (`front`).
      ctx.status = 200;
      ctx.respond = false;
      ctx.res.writeHead(200, headersOf(entry, ruleSet.headers, session)).end();
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
  };

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

  return async (ctx, next) => {
    const match = forwardAuthPath.exec(ctx.path);
    if (!match) return next();
    const started = duration ? process.hrtime.bigint() : 0n;
    const server = decodeSegment(match[1] ?? '');
    await problemJson(ctx, () => check(ctx, server));
    // Every other answer (login, denial, problem) may reach the browser: Traefik passes it on as it is.
    if (ctx.respond !== false) {
      ctx.set('Cache-Control', noStore);
      setSecurityHeaders(ctx);
    }
    duration?.observe(Number(process.hrtime.bigint() - started) / 1e9);
  };
}

/** Percent-decoded like @koa/router's params; a malformed escape stays as it is (and fails the name test). */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
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
