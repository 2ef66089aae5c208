// Traefik has no binary on the test machines, so its side of forwardAuth is reproduced here as it behaves:
// it always asks with GET and no body, copies the client's headers (with trustForwardHeader: false its own
// X-Forwarded-Method/-Proto/-Host/-Uri/-For replace the client's), never follows a redirect from the auth
// server, and hands every non-2xx answer (status, headers such as Location, body) to the client as is; of a
// 2xx only the authResponseHeaders reach the app.
import { expect } from 'chai';
import { type FakeIdp, startFakeIdp } from './harness.js';

const rules = [
  'rules:',
  '  - host: app.example.com',
  '    path: /api/**',
  '    methods: [DELETE]',
  '    policy: deny',
  '  - host: app.example.com',
  '    path: /pay/**',
  '    recent-auth: 5m',
].join('\n');

/** The request Traefik's forwardAuth middleware sends for a client request. */
function traefikAsks(
  idp: FakeIdp,
  client: { method: string; host: string; uri: string; headers?: Record<string, string> },
): Promise<Response> {
  return fetch(`${idp.url}/forward-auth/default`, {
    method: 'GET',
    redirect: 'manual',
    headers: {
      ...client.headers,
      'User-Agent': 'Mozilla/5.0',
      'X-Forwarded-For': '198.51.100.7',
      'X-Forwarded-Method': client.method,
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': client.host,
      'X-Forwarded-Uri': client.uri,
      'X-Forwarded-Port': '443',
      'X-Real-Ip': '198.51.100.7',
    },
  });
}

const html = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('forward-auth: Traefik forwardAuth request shape', () => {
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
  });
  after(() => idp.close());

  it('a 302 that Traefik passes on as is: absolute Location to the login page, no cookie, tiny body', async () => {
    const res = await traefikAsks(idp, {
      method: 'POST',
      host: 'app.example.com',
      uri: '/a%20b/c?x=1&y=%2F',
      headers: html,
    });
    expect(res.status).to.equal(302);
    // Traefik hands Location to the browser unchanged: relative, it would resolve against the app's host.
    const location = res.headers.get('location') ?? '';
    expect(location.startsWith('https://auth.example.com/login/default?')).to.equal(true);
    expect(new URL(location).searchParams.get('return_to')).to.equal(
      'https://app.example.com/a%20b/c?x=1&y=%2F',
    );
    // Any Set-Cookie would reach the browser for the app's host: none.
    expect(res.headers.get('set-cookie')).to.equal(null);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect((await res.text()).length).to.be.below(512);
  });

  it('the host may carry the port the client used; rules match the name, return_to keeps the port', async () => {
    const res = await traefikAsks(idp, {
      method: 'GET',
      host: 'app.example.com:8443',
      uri: '/x',
      headers: html,
    });
    expect(res.status).to.equal(302);
    const back = new URL(res.headers.get('location') ?? '').searchParams.get('return_to');
    expect(back).to.equal('https://app.example.com:8443/x');
  });

  it('the method that counts is X-Forwarded-Method, not the GET Traefik asks with', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const headers = { cookie, Accept: 'application/json' };
    expect(
      (await traefikAsks(idp, { method: 'GET', host: 'app.example.com', uri: '/api/items/1', headers }))
        .status,
    ).to.equal(200);
    const denied = await traefikAsks(idp, {
      method: 'DELETE',
      host: 'app.example.com',
      uri: '/api/items/1',
      headers,
    });
    expect(denied.status).to.equal(403);
    expect(denied.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('a 200 carries the identity headers Traefik copies (authResponseHeaders) and nothing to follow', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const res = await traefikAsks(idp, {
      method: 'GET',
      host: 'app.example.com',
      uri: '/docs',
      headers: { cookie, ...html, 'Remote-User': 'root' },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('remote-user')).to.equal('alice');
    expect(res.headers.get('remote-email')).to.equal('alice@example.com');
    expect(res.headers.get('remote-name')).to.equal('Alice');
    expect(res.headers.get('remote-groups')).to.equal('staff');
    expect(res.headers.get('location')).to.equal(null);
    expect(res.headers.get('set-cookie')).to.equal(null);
  });

  it('step-up: a browser is redirected to the login page with max_age, an API client gets 401', async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    idp.clock.advance(6 * 60_000);
    const browser = await traefikAsks(idp, {
      method: 'GET',
      host: 'app.example.com',
      uri: '/pay/now',
      headers: { cookie, ...html },
    });
    expect(browser.status).to.equal(302);
    expect(new URL(browser.headers.get('location') ?? '').searchParams.get('max_age')).to.equal('300');
    const api = await traefikAsks(idp, {
      method: 'GET',
      host: 'app.example.com',
      uri: '/pay/now',
      headers: { cookie, Accept: 'application/json' },
    });
    expect(api.status).to.equal(401);
    expect(api.headers.get('location')).to.equal(null);
  });

  it("a client's own X-Original-URL (Traefik passes client headers on) cannot pick another route: 400", async () => {
    const { cookie } = idp.sessions.add('default', { userid: 'alice' });
    const res = await traefikAsks(idp, {
      method: 'DELETE',
      host: 'app.example.com',
      uri: '/api/items/1',
      headers: { cookie, 'X-Original-URL': 'https://app.example.com/docs', 'X-Original-Method': 'GET' },
    });
    expect(res.status).to.equal(400);
    expect(res.headers.get('remote-user')).to.equal(null);
  });
});
