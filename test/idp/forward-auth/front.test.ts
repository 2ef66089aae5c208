// Forward-auth as a `front` middleware of the HTTP app (ahead of the common middleware and the routers):
// the same answers on the same paths, the security headers on every answer a browser may see, its own
// metrics, other paths untouched, and shared lookups when caches are cold.
import Router from '@koa/router';
import { expect } from 'chai';
import { type FakeIdp, startFakeIdp } from './harness.js';

const traefik = (host: string, uri = '/') => ({
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Host': host,
  'X-Forwarded-Uri': uri,
  'X-Forwarded-Method': 'GET',
});
const html = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const security = ['x-content-type-options', 'referrer-policy', 'x-frame-options'];

describe('forward-auth in front of the app', () => {
  let idp: FakeIdp;
  before(async () => {
    const after = new Router();
    after.get('/hello', (ctx) => {
      ctx.body = 'routers still answer';
    });
    after.get('/forward-auth/:server/more', (ctx) => {
      ctx.body = 'not forward-auth';
    });
    idp = await startFakeIdp({
      rules: 'rules:\n  - host: admin.example.com\n    groups: [admins]',
      publicUrl: 'https://auth.example.com',
      cookieDomain: 'example.com',
      after,
    });
    idp.users.set('alice', { userid: 'alice', name: 'Alice', email: null, groups: [], attributes: {} });
  });
  after(() => idp.close());

  const ask = (headers: Record<string, string>, path = '/forward-auth/default') =>
    fetch(`${idp.url}${path}`, { headers, redirect: 'manual' });

  it('answers the paths @koa/router matched: trailing slash, any case, percent-encoded name', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    for (const path of [
      '/forward-auth/default',
      '/forward-auth/default/',
      '/Forward-Auth/default',
      '/forward-auth/%64efault',
    ]) {
      const res = await ask({ ...traefik('app.example.com'), Cookie: cookie }, path);
      expect(res.status, path).to.equal(200);
      expect(res.headers.get('remote-user'), path).to.equal('alice');
    }
    expect((await ask(traefik('app.example.com'), '/forward-auth/a%2Fb')).status).to.equal(404);
  });

  it('passes every other path on to the routers (and their common headers)', async () => {
    const hello = await ask({}, '/hello');
    expect(await hello.text()).to.equal('routers still answer');
    expect(hello.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const deeper = await ask({}, '/forward-auth/default/more');
    expect(await deeper.text()).to.equal('not forward-auth');
    expect((await ask({}, '/forward-auth/')).status).to.equal(404);
  });

  it('a 200 carries only what the proxies use: identity headers, no-store, no page headers', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const res = await ask({ ...traefik('app.example.com'), Cookie: cookie });
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.headers.get('remote-user')).to.equal('alice');
    expect(res.headers.get('remote-email')).to.equal('');
    expect(res.headers.get('content-length')).to.equal('0');
    expect(await res.text()).to.equal('');
    for (const name of [...security, 'x-request-id', 'content-type', 'transfer-encoding'])
      expect(res.headers.get(name), name).to.equal(null);
  });

  it('every answer a browser may see carries the security headers (302, 401, 403, 400, 404)', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const answers = [
      [302, await ask({ ...traefik('app.example.com'), ...html })],
      [401, await ask(traefik('app.example.com'))],
      [403, await ask({ ...traefik('admin.example.com'), ...html, Cookie: cookie })],
      [400, await ask({ 'X-Forwarded-Host': 'app.example.com' })],
      [404, await ask(traefik('app.example.com'), '/forward-auth/nope')],
    ] as const;
    for (const [status, res] of answers) {
      expect(res.status).to.equal(status);
      expect(res.headers.get('cache-control'), String(status)).to.equal('no-store');
      expect(res.headers.get('x-content-type-options'), String(status)).to.equal('nosniff');
      expect(res.headers.get('referrer-policy'), String(status)).to.equal('no-referrer');
      expect(res.headers.get('x-frame-options'), String(status)).to.equal('DENY');
    }
    const problem = answers[3][1];
    expect(problem.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('counts each check in its own metrics, not in the per-route HTTP metrics', async () => {
    const checks = (text: string) =>
      Number(/^nextauth_forward_auth_duration_seconds_count (\d+)/m.exec(text)?.[1] ?? -1);
    const decisions = (text: string, decision: string) =>
      Number(
        new RegExp(`^nextauth_forward_auth_decisions_total\\{decision="${decision}"\\} (\\d+)`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    const before = await idp.metrics.registry.metrics();
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    await ask({ ...traefik('app.example.com'), Cookie: cookie });
    await ask({ ...traefik('app.example.com'), Cookie: cookie });
    await ask(traefik('app.example.com'));
    const after = await idp.metrics.registry.metrics();
    expect(checks(after) - checks(before)).to.equal(3);
    expect(decisions(after, 'allow') - decisions(before, 'allow')).to.equal(2);
    expect(decisions(after, 'login') - decisions(before, 'login')).to.equal(1);
    expect(after).to.not.match(/route="\/forward-auth\/:server"/);
    expect(after).to.match(/nextauth_http_requests_total\{method="GET",route="\/hello",status="200"\}/);
  });
});

describe('forward-auth lookups on cold caches', () => {
  it('concurrent checks of one session ask NS for its profile once; a later expiry asks again', async () => {
    const idp = await startFakeIdp({ profileTtlMs: 10_000 });
    try {
      idp.users.set('alice', { userid: 'alice', name: 'Alice', email: null, groups: [], attributes: {} });
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      const ask = () =>
        fetch(`${idp.url}/forward-auth/default`, { headers: { ...traefik('127.0.0.1'), Cookie: cookie } });
      const answers = await Promise.all(Array.from({ length: 20 }, ask));
      expect(answers.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
      expect(idp.profileLookups).to.equal(1);
      await ask();
      expect(idp.profileLookups).to.equal(1);
      idp.clock.advance(10_001);
      await ask();
      expect(idp.profileLookups).to.equal(2);
    } finally {
      await idp.close();
    }
  });

  it('a changed profile reaches the identity headers once the cached one expires', async () => {
    const idp = await startFakeIdp({ profileTtlMs: 10_000 });
    try {
      idp.users.set('alice', { userid: 'alice', name: 'Alice', email: null, groups: ['a'], attributes: {} });
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      const groups = async () =>
        (
          await fetch(`${idp.url}/forward-auth/default`, {
            headers: { ...traefik('127.0.0.1'), Cookie: cookie },
          })
        ).headers.get('remote-groups');
      expect(await groups()).to.equal('a');
      idp.users.set('alice', { userid: 'alice', name: 'Alice', email: null, groups: ['b'], attributes: {} });
      expect(await groups()).to.equal('a');
      idp.clock.advance(10_001);
      expect(await groups()).to.equal('b');
    } finally {
      await idp.close();
    }
  });
});
