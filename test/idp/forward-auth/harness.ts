// Forward-auth endpoint on a loopback port with in-memory sessions and NS users, for the unit-level HTTP
// tests and the proxy system tests.
import type Router from '@koa/router';
import { FixedClock } from '../../../auth-server/common/clock.js';
import { createHttpApp } from '../../../auth-server/common/http/app.js';
import { createLogger, type Logger } from '../../../auth-server/common/logging.js';
import { createMetrics, type Metrics } from '../../../auth-server/common/metrics.js';
import type { NsUserProfile } from '../../../auth-server/common/peers.js';
import { forwardAuthMiddleware } from '../../../idp/forward-auth/router.js';
import { parseRules } from '../../../idp/forward-auth/rules.js';
import { fixedRules, type RulesSource } from '../../../idp/forward-auth/rules-file.js';
import { serve } from '../../helpers/http.js';
import { FakeSessions } from './fake-sessions.js';

export interface FakeIdp {
  url: string;
  sessions: FakeSessions;
  users: Map<string, NsUserProfile>;
  metrics: Metrics;
  clock: FixedClock;
  /** How often the endpoint asked NS for a user profile. */
  profileLookups: number;
  close(): Promise<void>;
}

export async function startFakeIdp(
  options: {
    rules?: string;
    publicUrl?: string;
    cookieDomain?: string;
    rulesSource?: RulesSource;
    logger?: Logger;
    /** Default 0: every check asks for the profile. */
    profileTtlMs?: number;
    /** Mounted after the endpoint, as the IdP's routers are. */
    after?: Router;
  } = {},
): Promise<FakeIdp> {
  const sessions = new FakeSessions();
  const clock = new FixedClock(Date.UTC(2026, 0, 1));
  sessions.now = () => Math.floor(clock.now() / 1000);
  const users = new Map<string, NsUserProfile>();
  const metrics = createMetrics({ defaults: false });
  const logger =
    options.logger ?? createLogger({ level: process.env.NEXTAUTH_TEST_LOG ?? 'silent', format: 'json' });
  let url = '';
  const idp: FakeIdp = {
    url,
    sessions,
    users,
    metrics,
    clock,
    profileLookups: 0,
    close: () => listener.close(0),
  };
  const forwardAuth = forwardAuthMiddleware({
    get publicUrl() {
      return options.publicUrl ?? url;
    },
    cookieDomain: options.cookieDomain,
    sessions,
    ns: {
      findServer: async (name) => (name === 'default' ? { name, displayName: 'Default' } : undefined),
      userProfile: async (_server, userid) => {
        idp.profileLookups++;
        return users.get(userid);
      },
    },
    rules: options.rulesSource ?? fixedRules(parseRules(options.rules ?? '', 'rules.yaml')),
    clock,
    logger,
    metrics,
    profileTtlMs: options.profileTtlMs ?? 0,
  });
  const app = createHttpApp({ logger, metrics, front: [forwardAuth] });
  if (options.after) app.use(options.after.routes());
  const listener = await serve(app);
  url = listener.url;
  idp.url = url;
  return idp;
}
