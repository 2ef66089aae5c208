// System tests: real Caddy and nginx with the shipped configurations in front of an upstream that echoes
// the headers it got, asking the forward-auth endpoint (sessions in memory here; the login with a phone is
// in login-flow.test.ts).
import { expect } from 'chai';
import { type ProxyKind, type RunningProxy, requireProxy, startProxy } from '../../helpers/proxies.js';
import { type Echo, type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { type FakeIdp, startFakeIdp } from './harness.js';

const rules = [
  'rules:',
  '  - path: ["/admin", "/admin/**"]',
  '    groups: [admins]',
  '  - path: /pay/**',
  '    recent-auth: 5m',
  '  - path: /internal/**',
  '    policy: deny',
  '  - path: /public/**',
  '    methods: [DELETE]',
  '    policy: deny',
].join('\n');

const html = 'text/html,application/xhtml+xml,*/*;q=0.8';

for (const kind of ['caddy', 'nginx'] as ProxyKind[]) {
  describe(`forward-auth behind real ${kind}`, function () {
    this.timeout(30_000);
    let idp: FakeIdp;
    let upstream: EchoUpstream;
    let proxy: RunningProxy;

    before(async function () {
      await requireProxy(this, kind);
      idp = await startFakeIdp({ rules });
      idp.users.set('alice', {
        userid: 'alice',
        name: 'Alice',
        email: 'alice@example.com',
        groups: ['staff'],
        attributes: {},
      });
      idp.users.set('root', {
        userid: 'root',
        name: 'Root',
        email: 'root@example.com',
        groups: ['admins'],
        attributes: {},
      });
      upstream = await startEchoUpstream();
      proxy = await startProxy(kind, { nextauth: new URL(idp.url).host, app: upstream.hostPort });
    });
    after(async () => {
      await proxy?.stop();
      await upstream?.close();
      await idp?.close();
    });

    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      fetch(`${proxy.url}${path}`, { method, headers, redirect: 'manual' });
    const echo = async (res: Response): Promise<Echo> => {
      expect(res.status, `${res.status} ${proxy.output()}`).to.equal(200);
      return (await res.json()) as Echo;
    };

    it('an anonymous browser is sent to the login page with its URL as return_to', async () => {
      const res = await get('/docs/page?x=1', { Accept: html });
      expect(res.status, proxy.output()).to.equal(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.origin + location.pathname).to.equal(`${idp.url}/login/default`);
      expect(location.searchParams.get('return_to')).to.equal(`${proxy.url}/docs/page?x=1`);
    });

    it('an anonymous API client gets 401 without a redirect', async () => {
      const res = await get('/api/things', { Accept: 'application/json' });
      expect(res.status).to.equal(401);
      expect(res.headers.get('location')).to.equal(null);
    });

    it('a logged-in user reaches the upstream with the Remote-* headers', async () => {
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      const seen = await echo(await get('/docs', { Cookie: cookie, Accept: html }));
      expect(seen.headers).to.include({
        'remote-user': 'alice',
        'remote-email': 'alice@example.com',
        'remote-name': 'Alice',
        'remote-groups': 'staff',
      });
      expect(seen.url).to.equal('/docs');
    });

    it('a client-sent Remote-User never reaches the upstream (nor its underscore twin)', async () => {
      const { cookie } = idp.sessions.add('default', { userid: 'bob' });
      const spoof = {
        'Remote-User': 'admin',
        'Remote-Email': 'admin@example.com',
        'Remote-Groups': 'admins',
        Remote_User: 'admin',
      };
      const seen = await echo(await get('/docs', { Cookie: cookie, ...spoof }));
      expect(seen.headers['remote-user']).to.equal('bob');
      // bob has no NS record: nextAuth sends these empty, so the client's must not survive either.
      expect(seen.headers['remote-email'] ?? '').to.equal('');
      expect(seen.headers['remote-groups'] ?? '').to.equal('');
      expect(seen.headers).to.not.have.property('remote_user');
      const anonymous = await get('/docs', { ...spoof, Accept: html });
      expect(anonymous.status).to.equal(302);
    });

    it('a client-sent X-Original-URL / X-Forwarded-Uri cannot pick a more lenient rule', async () => {
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      for (const header of ['X-Original-URL', 'X-Forwarded-Uri']) {
        const value = header === 'X-Original-URL' ? `${proxy.url}/docs` : '/docs';
        const res = await get('/internal/secret', { Cookie: cookie, [header]: value });
        expect(res.status, header).to.be.oneOf([400, 403]);
      }
    });

    it('groups: a non-member gets 403, a member passes', async () => {
      const alice = idp.sessions.add('default', { userid: 'alice' }).cookie;
      expect((await get('/admin/users', { Cookie: alice, Accept: html })).status).to.equal(403);
      const root = idp.sessions.add('default', { userid: 'root' }).cookie;
      expect((await echo(await get('/admin/users', { Cookie: root }))).headers['remote-groups']).to.equal(
        'admins',
      );
    });

    it('deny rules by path and by method', async () => {
      const alice = idp.sessions.add('default', { userid: 'alice' }).cookie;
      expect((await get('/internal/x', { Cookie: alice })).status).to.equal(403);
      expect((await get('/public/x', { Cookie: alice }, 'DELETE')).status).to.equal(403);
      expect((await get('/public/x', { Cookie: alice })).status).to.equal(200);
    });

    it('recent-auth: after the window the browser is sent to a fresh login with max_age', async () => {
      const { cookie } = idp.sessions.add('default', { userid: 'alice' });
      expect((await get('/pay/checkout', { Cookie: cookie, Accept: html })).status).to.equal(200);
      idp.clock.advance(6 * 60_000);
      const res = await get('/pay/checkout', { Cookie: cookie, Accept: html });
      expect(res.status).to.equal(302);
      const location = new URL(res.headers.get('location') ?? '');
      expect(location.searchParams.get('max_age')).to.equal('300');
      expect(location.searchParams.get('return_to')).to.equal(`${proxy.url}/pay/checkout`);
      expect((await get('/docs', { Cookie: cookie })).status).to.equal(200);
    });

    it('after the session ends a replayed cookie gets 401', async () => {
      const { cookie, session } = idp.sessions.add('default', { userid: 'alice' });
      expect((await get('/docs', { Cookie: cookie })).status).to.equal(200);
      await idp.sessions.end(session);
      expect((await get('/docs', { Cookie: cookie })).status).to.equal(401);
    });
  });
}
