// Per-client settings of the IdP management API seen by a relying party (openid-client): pairwise subjects
// (OIDC Core §8.1) — one sub per sector (redirect host), derived from NEXTAUTH_SECRET_KEY so it is the same
// on every instance and after a restart — and `require_pushed_authorization_requests` (RFC 9126 §5): a plain
// authorization request of such a client is refused, a pushed one works.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { pairwiseSubject } from '../../../idp/oidc/provider.js';
import {
  type AuthRequest,
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  rootApiKey,
  startEmbedded,
} from './harness.js';

const otherSector = 'http://localhost:9/cb';

describe('idp/oidc: pairwise subjects and per-client PAR', function () {
  this.timeout(90_000);
  let e: Embedded;
  let alice: Phone;

  /** Registers through /idp/api/v1 as an operator would; returns the RP's configuration. */
  const register = async (body: Record<string, unknown>): Promise<oidc.Configuration> => {
    const res = await fetch(`${e.url}/idp/api/v1/servers/default/oidc/clients`, {
      method: 'POST',
      headers: { 'x-apikey': rootApiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const created = (await res.json()) as { clientId: string; secret: string };
    expect(res.status, JSON.stringify(created)).to.equal(201);
    return discover(e.issuer, created.clientId, created.secret);
  };
  const login = async (config: oidc.Configuration, params: Record<string, string> = {}) => {
    const request = await authRequest(config, params);
    return redeem(config, request, await authorize(new Browser(e.url), request, alice));
  };
  const redeem = (config: oidc.Configuration, request: AuthRequest, callback: URL) =>
    oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });

  before(async () => {
    e = await startEmbedded();
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  it('discovery lists public and pairwise subject types', async () => {
    const config = await register({ clientId: 'plain', redirectUris: [redirectUri] });
    expect(config.serverMetadata().subject_types_supported).to.have.members(['public', 'pairwise']);
  });

  it("id_token_hint of a pairwise client: the hinted user's new login passes, another user's is login_required", async () => {
    const config = await register({
      clientId: 'pw-hint',
      redirectUris: [redirectUri],
      subjectType: 'pairwise',
    });
    const hint = (await login(config)).id_token ?? '';
    const again = await login(config, { id_token_hint: hint });
    expect(again.claims()?.sub).to.not.equal('alice');
    const bob = await Phone.open(e.url);
    await bob.enrol(e.url, 'bob');
    const request = await authRequest(config, { id_token_hint: hint });
    const callback = await authorize(new Browser(e.url), request, bob);
    expect(callback.searchParams.get('error')).to.equal('login_required');
  });

  it('a pairwise client gets a sub per sector, never the userid; userinfo agrees', async () => {
    const one = await register({ clientId: 'pw-one', redirectUris: [redirectUri], subjectType: 'pairwise' });
    const two = await register({ clientId: 'pw-two', redirectUris: [redirectUri], subjectType: 'pairwise' });
    const other = await register({
      clientId: 'pw-other',
      redirectUris: [otherSector],
      subjectType: 'pairwise',
    });

    const tokensOne = await login(one);
    const sub = tokensOne.claims()?.sub;
    expect(sub)
      .to.match(/^[A-Za-z0-9_-]{43}$/)
      .and.not.equal('alice');
    // Derived from the secret key, the sector and the userid only: any instance, any restart, the same.
    const secretKey = e.runtime.config.secretKey ?? '';
    expect(sub).to.equal(pairwiseSubject(secretKey, 'default')('127.0.0.1:9', 'alice'));
    const info = await oidc.fetchUserInfo(one, tokensOne.access_token, sub ?? '');
    expect(info.sub).to.equal(sub);

    // Same sector, same sub; another sector, another one.
    expect((await login(two)).claims()?.sub).to.equal(sub);
    const otherSub = (await login(other, { redirect_uri: otherSector })).claims()?.sub;
    expect(otherSub).to.equal(pairwiseSubject(secretKey, 'default')('localhost:9', 'alice'));
    expect(otherSub).to.not.equal(sub);
    // Another virtual server's provider derives other subs for the same sector.
    expect(pairwiseSubject(secretKey, 'acme')('127.0.0.1:9', 'alice')).to.not.equal(sub);
  });

  it('a public client gets the userid; switching it to pairwise with PATCH changes its next tokens', async () => {
    const config = await register({ clientId: 'switch', redirectUris: [redirectUri] });
    expect((await login(config)).claims()?.sub).to.equal('alice');
    const res = await fetch(`${e.url}/idp/api/v1/servers/default/oidc/clients/switch`, {
      method: 'PATCH',
      headers: { 'x-apikey': rootApiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ subjectType: 'pairwise' }),
    });
    expect(res.status).to.equal(200);
    expect((await login(config)).claims()?.sub).to.equal(
      pairwiseSubject(e.runtime.config.secretKey ?? '', 'default')('127.0.0.1:9', 'alice'),
    );
  });

  it('a client registered with requirePar: a plain authorization request is refused, a pushed one works', async () => {
    const config = await register({ clientId: 'par-only', redirectUris: [redirectUri], requirePar: true });
    const plain = await authRequest(config);
    const b = new Browser(e.url);
    const { leftTo } = await b.navigate(plain.url.href);
    // Refused before any login, at the registered redirect URI (RFC 9126 §5): an error, never a code.
    const callback = new URL(leftTo ?? 'http://none/');
    expect(`${callback.origin}${callback.pathname}`).to.equal(redirectUri);
    expect(callback.searchParams.get('error')).to.equal('invalid_request');
    expect(callback.searchParams.get('error_description')).to.equal(
      'Pushed Authorization Request must be used',
    );
    expect(callback.searchParams.has('code')).to.equal(false);

    const request = await authRequest(config);
    const url = await oidc.buildAuthorizationUrlWithPAR(config, Object.fromEntries(request.url.searchParams));
    const pushed = { ...request, url };
    const tokens = await redeem(config, pushed, await authorize(new Browser(e.url), pushed, alice));
    expect(tokens.claims()?.sub).to.equal('alice');
  });
});
