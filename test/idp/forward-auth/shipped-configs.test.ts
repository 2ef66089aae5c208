// Traefik is not run here: its shipped configuration is checked for what matters (the endpoint, the
// identity headers it copies, the client headers it strips, the middleware order). Caddy's and nginx's
// run for real in proxies.test.ts.
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { parse } from 'yaml';
import { parseRules } from '../../../idp/forward-auth/rules.js';

const read = (path: string) => readFile(new URL(`../../../${path}`, import.meta.url), 'utf8');
const identity = ['Remote-User', 'Remote-Email', 'Remote-Name', 'Remote-Groups'];
const stripped = [
  ...identity,
  ...identity.map((h) => h.replace('-', '_')),
  'X-Original-URL',
  'X-Original-Method',
];

describe('forward-auth: shipped Traefik configuration', () => {
  it('file provider: forwardAuth to /forward-auth/{server}, the four headers copied, client copies removed first', async () => {
    type Dynamic = {
      http: {
        middlewares: Record<
          string,
          {
            forwardAuth?: Record<string, unknown>;
            headers?: { customRequestHeaders: Record<string, string> };
          }
        >;
        routers: Record<string, { middlewares?: string[] }>;
      };
    };
    const doc = parse(await read('docker/forward-auth/traefik/dynamic.yaml')) as Dynamic;
    const auth = doc.http.middlewares.nextauth?.forwardAuth;
    expect(auth?.address).to.match(/^http:\/\/[^/]+\/forward-auth\/default$/);
    expect(auth?.trustForwardHeader).to.equal(false);
    expect(auth?.authResponseHeaders).to.deep.equal(identity);
    const strip = doc.http.middlewares['nextauth-strip']?.headers?.customRequestHeaders ?? {};
    for (const header of stripped) expect(strip[header], header).to.equal('');
    expect(doc.http.routers.app?.middlewares).to.deep.equal(['nextauth-strip', 'nextauth']);
  });

  it('Docker labels say the same', async () => {
    const doc = parse(await read('docker/forward-auth/traefik/compose.yaml')) as {
      services: Record<string, { labels?: string[]; environment?: Record<string, string> }>;
    };
    const labels = Object.fromEntries(
      (doc.services.nextauth?.labels ?? []).map((l) => [
        l.slice(0, l.indexOf('=')),
        l.slice(l.indexOf('=') + 1),
      ]),
    );
    const mw = 'traefik.http.middlewares';
    expect(labels[`${mw}.nextauth.forwardauth.address`]).to.match(/\/forward-auth\/default$/);
    expect(labels[`${mw}.nextauth.forwardauth.trustForwardHeader`]).to.equal('false');
    expect(labels[`${mw}.nextauth.forwardauth.authResponseHeaders`]).to.equal(identity.join(','));
    for (const header of stripped) {
      expect(labels[`${mw}.nextauth-strip.headers.customrequestheaders.${header}`], header).to.equal('');
    }
    expect(doc.services.app?.labels).to.include(
      'traefik.http.routers.app.middlewares=nextauth-strip@docker,nextauth@docker',
    );
  });

  it('the example rules file is valid', async () => {
    const { rules } = parseRules(await read('docs/examples/forward-auth.yaml'), 'forward-auth.yaml');
    expect(rules.map((r) => r.policy.kind)).to.deep.equal([
      'deny',
      'authenticated',
      'authenticated',
      'authenticated',
    ]);
  });
});
