// NS → IdP: an NS logout of the browser's NS login session ends the IdP session made from it (`ns_logout`),
// and deleting or blocking the account (the phone) at NS ends every IdP session of its logins
// (`account_removed`, `account_blocked`), with
// the OIDC back-channel logout of their relying parties. The embedded runtime, the real SDK as the phone,
// the message on the KV bus as between instances.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import { parseNsSessionEnd, publishNsSessionEnd } from '../../../auth-server/common/idp-session-ends.js';
import { sessionsTable } from '../../../idp/session/repository.js';
import { completeBody, frontDoorQrLogin } from '../interaction/front-door-harness.js';
import {
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  rootApiKey,
  startEmbedded,
} from '../oidc/harness.js';

const asContext = (b: Browser) =>
  ({ cookies: { get: (name: string) => b.cookie(name) }, append() {} }) as unknown as Context;

/** Polls until `check` holds: the bus delivers asynchronously. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

describe('idp/session: NS ends IdP sessions (ns_logout, account_removed, account_blocked)', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let alice: Phone;
  let bob: Phone;
  const tokens: string[] = [];
  let rp: Server;

  before(async () => {
    rp = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token');
        if (token) tokens.push(token);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    e = await startEmbedded({ env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' } });
    const { secret } = await e.addClient({
      clientId: 'webapp',
      redirectUris: [redirectUri],
      backchannelLogoutUri: `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bc`,
    });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    bob = await Phone.open(e.url);
    await bob.enrol(e.url, 'bob');
  });
  afterEach(() => {
    tokens.length = 0;
  });
  after(async () => {
    await e?.close();
    await new Promise((resolve) => rp?.close(resolve));
  });

  const sessions = () => {
    const s = e.runtime.idpSessions;
    if (!s) throw new Error('runtime without IdP sessions');
    return s;
  };
  const idpDb = () => {
    const db = e.runtime.dbs.idp;
    if (!db) throw new Error('no IdP database');
    return db;
  };
  const endCause = async (id: string) =>
    ((await idpDb()(sessionsTable).where({ id }).first()) as { end_cause: string | null }).end_cause;

  /** A browser logged in at the front-door page, then into OIDC (its session joins as a participant). */
  const login = async (phone: Phone) => {
    const b = new Browser(e.url);
    const data = await frontDoorQrLogin(b, phone, '/login/default?return_to=%2Fdemo');
    expect((await b.postJson(data.complete, completeBody(data))).status).to.equal(200);
    const request = await authRequest(webapp);
    const callback = await authorize(b, request);
    const grant = await oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    const session = await sessions().current(asContext(b), 'default');
    if (!session) throw new Error('no IdP session after the login');
    return { b, session, grant };
  };

  it("an NS logout of the browser's login session ends its IdP session (and OIDC's), not others", async () => {
    const one = await login(alice);
    const other = await login(alice);
    expect(one.session.nsSession).to.be.a('string');
    const nonce = one.b.cookie(e.runtime.peers.ns?.browserSessionCookieName('default') ?? '');
    const res = await fetch(`${e.url}/ns/api/v2/logout`, {
      method: 'POST',
      headers: { 'x-apikey': rootApiKey, 'x-nonce': String(nonce) },
    });
    expect(res.status, await res.clone().text()).to.equal(200);
    await eventually(async () => (await endCause(one.session.id)) === 'ns_logout', 'ns_logout recorded');
    expect(await sessions().current(asContext(one.b), 'default')).to.equal(undefined);
    await eventually(async () => tokens.length === 1, 'one back-channel logout token');
    expect(decodeJwt(tokens[0] ?? '')).to.deep.include({ sub: 'alice', aud: 'webapp' });
    // The same user's session in another browser came from another NS login: it lives on.
    expect(await sessions().current(asContext(other.b), 'default')).to.deep.include({ id: other.session.id });
  });

  it('deleting the account at NS ends every IdP session of its logins, with back-channel logout', async () => {
    const first = await login(bob);
    const second = await login(bob);
    const bystander = await login(alice);
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/accounts/${first.session.accountId}`, {
      method: 'DELETE',
      headers: { 'x-apikey': rootApiKey },
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 204]);
    for (const s of [first.session, second.session])
      await eventually(async () => (await endCause(s.id)) === 'account_removed', 'account_removed');
    await eventually(async () => tokens.length === 2, 'two back-channel logout tokens');
    expect(tokens.map((t) => decodeJwt(t).sub)).to.deep.equal(['bob', 'bob']);
    const userinfo = await fetch(webapp.serverMetadata().userinfo_endpoint ?? '', {
      headers: { authorization: `Bearer ${first.grant.access_token}` },
    });
    expect(userinfo.status).to.equal(401);
    expect(await sessions().current(asContext(bystander.b), 'default')).to.deep.include({ userid: 'alice' });
  });

  it('blocking the account at NS ends its IdP sessions too; unblocking brings none back', async () => {
    const carol = await Phone.open(e.url);
    await carol.enrol(e.url, 'carol');
    const blocked = await login(carol);
    const bystander = await login(alice);
    const path = `${e.url}/ns/api/v2/servers/default/accounts/${blocked.session.accountId}`;
    const res = await fetch(`${path}/block`, { method: 'POST', headers: { 'x-apikey': rootApiKey } });
    expect(res.status, await res.clone().text()).to.equal(200);
    await eventually(
      async () => (await endCause(blocked.session.id)) === 'account_blocked',
      'account_blocked',
    );
    await eventually(async () => tokens.length === 1, 'one back-channel logout token');
    expect(decodeJwt(tokens[0] ?? '')).to.deep.include({ sub: 'carol', aud: 'webapp' });
    expect(await sessions().current(asContext(blocked.b), 'default')).to.equal(undefined);
    const unblock = await fetch(`${path}/unblock`, { method: 'POST', headers: { 'x-apikey': rootApiKey } });
    expect(unblock.status).to.equal(200);
    expect(await sessions().current(asContext(blocked.b), 'default')).to.equal(undefined);
    expect(await sessions().current(asContext(bystander.b), 'default')).to.deep.include({ userid: 'alice' });
  });

  it('messages for another server, of an unknown shape or too large end nothing', async () => {
    const { session, b } = await login(alice);
    const marker = await login(alice);
    const kv = e.runtime.kv;
    await publishNsSessionEnd(kv, { cause: 'account_removed', server: 'other', account: session.accountId });
    await kv.publish('ns:idp-session-ends', JSON.stringify({ cause: 'account_removed', server: 'default' }));
    await kv.publish(
      'ns:idp-session-ends',
      JSON.stringify({ cause: 'everything', server: 'default', account: session.accountId }),
    );
    expect(parseNsSessionEnd('{')).to.equal(undefined);
    expect(
      parseNsSessionEnd(
        JSON.stringify({ cause: 'ns_logout', server: 'default', nsSession: 'x', pad: 'y'.repeat(3000) }),
      ),
    ).to.equal(undefined);
    // A good message published after them ends its session: by then the bus handed the others over too.
    await publishNsSessionEnd(kv, {
      cause: 'ns_logout',
      server: 'default',
      nsSession: String(marker.session.nsSession),
    });
    await eventually(async () => (await endCause(marker.session.id)) === 'ns_logout', 'the marker ended');
    expect(await sessions().current(asContext(b), 'default')).to.deep.include({ id: session.id });
    expect(await endCause(session.id)).to.equal(null);
  });
});
