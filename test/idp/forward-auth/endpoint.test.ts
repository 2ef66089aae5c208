import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../../../auth-server/common/logging.js';
import { type FakeIdp, startFakeIdp } from './harness.js';

const rules = [
  'rules:',
  '  - host: admin.example.com',
  '    groups: [admins]',
  '  - host: pay.example.com',
  '    recent-auth: 5m',
  '  - host: closed.example.com',
  '    policy: deny',
].join('\n');

const traefik = (host: string, uri = '/', method = 'GET') => ({
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': host,
  'X-Forwarded-Uri': uri,
  'X-Forwarded-Method': method,
});
const html = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('forward-auth endpoint', () => {
  let idp: FakeIdp;
  before(async () => {
    idp = await startFakeIdp({ rules, publicUrl: 'https://auth.example.com', cookieDomain: 'example.com' });
    idp.users.set('alice', {
      userid: 'alice',
      name: 'Alice',
      email: 'alice@example.com',
      groups: ['staff'],
      attributes: {},
    });
    idp.users.set('root', { userid: 'root', name: 'Root', email: null, groups: ['admins'], attributes: {} });
  });
  after(() => idp.close());

  const ask = (headers: Record<string, string>, path = '/forward-auth/default', method = 'GET') =>
    fetch(`${idp.url}${path}`, { headers, method, redirect: 'manual' });

  it('a browser without a session: 302 to the login page with the original URL as return_to', async () => {
    const res = await ask({ ...traefik('app.example.com', '/docs/a?b=1'), ...html });
    expect(res.status).to.equal(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.origin + location.pathname).to.equal('https://auth.example.com/login/default');
    expect(location.searchParams.get('return_to')).to.equal('https://app.example.com/docs/a?b=1');
    expect(location.searchParams.has('max_age')).to.equal(false);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.headers.get('remote-user')).to.equal(null);
  });

  it('an API client without a session: 401 without Location', async () => {
    const res = await ask({ ...traefik('app.example.com'), Accept: 'application/json' });
    expect(res.status).to.equal(401);
    expect(res.headers.get('location')).to.equal(null);
    expect(((await res.json()) as { code: string }).code).to.equal('unauthorized');
  });

  it('nginx (X-Original-URL): 401 with the login URL in Location for browsers, none for API clients', async () => {
    const browser = await ask({
      'X-Original-URL': 'https://app.example.com/x',
      'X-Original-Method': 'GET',
      ...html,
    });
    expect(browser.status).to.equal(401);
    const location = new URL(browser.headers.get('location') ?? '');
    expect(location.searchParams.get('return_to')).to.equal('https://app.example.com/x');
    const api = await ask({ 'X-Original-URL': 'https://app.example.com/x' });
    expect(api.status).to.equal(401);
    expect(api.headers.get('location')).to.equal(null);
  });

  it('the original URL never comes from a query parameter', async () => {
    const res = await ask(
      { ...traefik('app.example.com', '/real'), ...html },
      '/forward-auth/default?rd=https://evil.org/&return_to=https://evil.org/&url=https://evil.org/',
    );
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('return_to')).to.equal('https://app.example.com/real');
  });

  it('a protected host outside the cookie domain: 403 explaining the set-up error, no redirect', async () => {
    const res = await ask({ ...traefik('evil.org', '/'), ...html });
    expect(res.status).to.equal(403);
    expect(res.headers.get('location')).to.equal(null);
    expect(await res.text()).to.contain('not under the domain of the login cookie');
  });

  it('an authenticated session: 200 with every Remote-* header, empty when unknown', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const res = await ask({ ...traefik('app.example.com'), Cookie: cookie });
    expect(res.status).to.equal(200);
    expect(res.headers.get('remote-user')).to.equal('alice');
    expect(res.headers.get('remote-email')).to.equal('alice@example.com');
    expect(res.headers.get('remote-name')).to.equal('Alice');
    expect(res.headers.get('remote-groups')).to.equal('staff');
    const { cookie: nobody } = idp.sessions.add('default', { userid: 'bob' });
    const bob = await ask({ ...traefik('app.example.com'), Cookie: nobody });
    expect(bob.status).to.equal(200);
    expect(bob.headers.get('remote-user')).to.equal('bob');
    expect(bob.headers.get('remote-email')).to.equal('');
    expect(bob.headers.get('remote-groups')).to.equal('');
  });

  it('any method the proxy uses to ask works (Caddy GET, nginx the original method)', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      const res = await ask(
        { 'X-Original-URL': 'https://app.example.com/', Cookie: cookie },
        undefined,
        method,
      );
      expect(res.status, method).to.equal(200);
    }
  });

  it('a session of another virtual server does not count', async () => {
    const { cookie } = idp.sessions.add('other', { userid: 'alice' });
    const res = await ask({
      ...traefik('app.example.com'),
      Cookie: cookie.replace('fake_idp_other', 'fake_idp_default'),
    });
    expect(res.status).to.equal(401);
  });

  it('groups: a non-member gets 403 (an HTML page for browsers), a member 200', async () => {
    const alice = idp.sessions.add('default', { userid: 'alice' }).cookie;
    const denied = await ask({ ...traefik('admin.example.com'), Cookie: alice, ...html });
    expect(denied.status).to.equal(403);
    expect(denied.headers.get('content-type')).to.match(/text\/html/);
    expect(denied.headers.get('remote-user')).to.equal(null);
    const api = await ask({ ...traefik('admin.example.com'), Cookie: alice });
    expect(api.status).to.equal(403);
    expect(((await api.json()) as { code: string }).code).to.equal('forbidden');
    const root = idp.sessions.add('default', { userid: 'root' }).cookie;
    expect((await ask({ ...traefik('admin.example.com'), Cookie: root })).status).to.equal(200);
  });

  it('deny: 403 with or without a session', async () => {
    expect((await ask({ ...traefik('closed.example.com'), ...html })).status).to.equal(403);
    const alice = idp.sessions.add('default', { userid: 'alice' }).cookie;
    expect((await ask({ ...traefik('closed.example.com'), Cookie: alice })).status).to.equal(403);
  });

  it('recent-auth: inside the window 200; after it a login with max_age (step-up)', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    expect((await ask({ ...traefik('pay.example.com'), Cookie: cookie, ...html })).status).to.equal(200);
    idp.clock.advance(301_000);
    const res = await ask({ ...traefik('pay.example.com', '/checkout'), Cookie: cookie, ...html });
    expect(res.status).to.equal(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('max_age')).to.equal('300');
    expect(location.searchParams.get('return_to')).to.equal('https://pay.example.com/checkout');
    // Other routes still accept the older login.
    expect((await ask({ ...traefik('app.example.com'), Cookie: cookie })).status).to.equal(200);
    const api = await ask({ ...traefik('pay.example.com'), Cookie: cookie });
    expect(api.status).to.equal(401);
  });

  it('an ended session (logout): the replayed cookie gets 401', async () => {
    const { cookie, session } = idp.sessions.add('default', { userid: 'alice' });
    expect((await ask({ ...traefik('app.example.com'), Cookie: cookie })).status).to.equal(200);
    await idp.sessions.end(session);
    expect((await ask({ ...traefik('app.example.com'), Cookie: cookie })).status).to.equal(401);
  });

  it('unknown server 404, malformed proxy headers 400 (problem JSON)', async () => {
    const unknown = await ask(traefik('app.example.com'), '/forward-auth/nope');
    expect(unknown.status).to.equal(404);
    const bad = await ask({ 'X-Forwarded-Host': 'app.example.com' });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { detail: string }).detail).to.match(/X-Forwarded-Proto/);
  });

  it('counts decisions in nextauth_forward_auth_decisions_total', async () => {
    const text = await idp.metrics.registry.metrics();
    for (const decision of ['allow', 'login', 'forbidden', 'step_up', 'bad_request', 'unknown_server']) {
      expect(text).to.match(
        new RegExp(`nextauth_forward_auth_decisions_total\\{decision="${decision}"\\} [1-9]`),
      );
    }
  });
});

describe('forward-auth logs', () => {
  it('name host, path, decision and user, never the cookie or the query', async () => {
    let written = '';
    const destination = new Writable({
      write(chunk, _enc, done) {
        written += String(chunk);
        done();
      },
    });
    const idp = await startFakeIdp({
      publicUrl: 'https://auth.example.com',
      cookieDomain: 'example.com',
      logger: createLogger({ level: 'debug', format: 'json', destination }),
    });
    try {
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      const secret = cookie.split('=')[1] ?? '';
      for (const withCookie of [true, false]) {
        await fetch(`${idp.url}/forward-auth/default`, {
          headers: {
            ...traefik('app.example.com', '/cb?code=top-secret-code&token=top-secret-token'),
            ...html,
            ...(withCookie ? { Cookie: cookie } : {}),
          },
          redirect: 'manual',
        });
      }
      expect(written).to.contain('"decision":"allow"').and.to.contain('"userid":"alice"');
      expect(written).to.contain('"decision":"login"').and.to.contain('"path":"/cb"');
      expect(written).to.not.contain(secret);
      expect(written).to.not.contain('top-secret');
    } finally {
      await idp.close();
    }
  });
});
