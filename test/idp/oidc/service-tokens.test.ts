// Client credentials, introspection (RFC 7662) and revocation (RFC 7009), with openid-client as the client:
// only clients registered with client_credentials get such tokens; every call needs client authentication;
// a client introspects and revokes only its own tokens.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { payloadsTable } from '../../../idp/oidc/adapter.js';
import {
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  startEmbedded,
} from './harness.js';

describe('idp/oidc: client credentials, introspection, revocation', function () {
  this.timeout(60_000);
  let e: Embedded;
  let service: oidc.Configuration;
  let serviceSecret: string;
  let webapp: oidc.Configuration;
  let webappSecret: string;
  let spa: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    serviceSecret =
      (await e.addClient({ clientId: 'service', grantTypes: ['client_credentials'] })).secret ?? '';
    webappSecret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret ?? '';
    await e.addClient({ clientId: 'spa', public: true, redirectUris: [redirectUri] });
    service = await discover(e.issuer, 'service', serviceSecret);
    webapp = await discover(e.issuer, 'webapp', webappSecret);
    spa = await discover(e.issuer, 'spa');
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  const m = () => service.serverMetadata();
  const basic = (id: string, s: string) => `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`;
  const post = (url: string | undefined, body: Record<string, string>, auth?: string) =>
    fetch(url ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(auth !== undefined ? { authorization: auth } : {}),
      },
      body: new URLSearchParams(body),
    });
  const stored = async () =>
    Number((await e.runtime.dbs.idp?.(payloadsTable).count({ n: '*' }))?.[0]?.n ?? 0);
  const introspect = (config: oidc.Configuration, token: string) => oidc.tokenIntrospection(config, token);

  /** alice logs in to `config` with offline_access; the tokens of that grant. */
  const userTokens = async (config: oidc.Configuration) => {
    const request = await authRequest(config, { scope: 'openid offline_access' });
    const callback = await authorize(new Browser(e.url), request, alice);
    return oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
  };

  it('discovery publishes the grant and both endpoints', () => {
    expect(m().grant_types_supported).to.include('client_credentials');
    expect(m().introspection_endpoint).to.equal(`${e.issuer}/token/introspection`);
    expect(m().revocation_endpoint).to.equal(`${e.issuer}/token/revocation`);
  });

  describe('client credentials', () => {
    it('a service client gets an access token for itself; introspection shows no user; revocation ends it', async () => {
      const tokens = await oidc.clientCredentialsGrant(service);
      expect(tokens.token_type).to.equal('bearer');
      expect(tokens.expires_in).to.be.within(3500, 3600);
      expect(tokens).to.not.have.any.keys('refresh_token', 'id_token');
      const info = await introspect(service, tokens.access_token);
      expect(info).to.include({ active: true, client_id: 'service', iss: e.issuer, token_type: 'Bearer' });
      expect(info).to.not.have.property('sub');
      await oidc.tokenRevocation(service, tokens.access_token);
      expect(await introspect(service, tokens.access_token)).to.deep.equal({ active: false });
    });

    it('is refused to a client not registered for it, to a public client and with a wrong secret; nothing stored', async () => {
      const before = await stored();
      const notRegistered = await oidc.clientCredentialsGrant(webapp).catch((err) => err);
      expect(notRegistered).to.be.instanceOf(oidc.ResponseBodyError);
      // oidc-provider answers invalid_request (RFC 6749 §5.2 would say unauthorized_client); the text is clear.
      expect(notRegistered).to.include({ error: 'invalid_request', status: 400 });
      expect(notRegistered.cause).to.include({
        error_description: 'requested grant type is not allowed for this client',
      });
      const pub = await post(m().token_endpoint, { grant_type: 'client_credentials', client_id: 'spa' });
      expect(pub.status).to.equal(400);
      expect(await pub.json()).to.include({ error: 'invalid_request' });
      const wrong = await post(
        m().token_endpoint,
        { grant_type: 'client_credentials' },
        basic('service', 'not-the-secret-at-all'),
      );
      expect(wrong.status).to.equal(401);
      expect(await wrong.json()).to.include({ error: 'invalid_client' });
      const none = await post(m().token_endpoint, { grant_type: 'client_credentials' });
      expect(none.status).to.equal(400);
      expect(await none.json()).to.include({ error: 'invalid_request' });
      expect(await stored()).to.equal(before);
    });

    it('a service client cannot use the authorization endpoint (no response types, no redirect URIs)', async () => {
      const res = await new Browser(e.url).fetch(
        `${m().authorization_endpoint}?${new URLSearchParams({
          client_id: 'service',
          response_type: 'code',
          scope: 'openid',
          redirect_uri: redirectUri,
        })}`,
      );
      expect(res.status).to.equal(400);
      expect(res.headers.get('location')).to.equal(null);
    });
  });

  describe('introspection', () => {
    it("a client introspects its own user tokens (with sub) but not another client's (active: false)", async () => {
      const tokens = await userTokens(webapp);
      const own = await introspect(webapp, tokens.access_token);
      expect(own).to.include({ active: true, client_id: 'webapp', sub: 'alice' });
      expect(own.scope?.split(' ')).to.have.members(['openid', 'offline_access']);
      expect(await introspect(webapp, tokens.refresh_token ?? '')).to.include({ active: true, sub: 'alice' });
      expect(await introspect(service, tokens.access_token)).to.deep.equal({ active: false });
      const cc = await oidc.clientCredentialsGrant(service);
      expect(await introspect(webapp, cc.access_token)).to.deep.equal({ active: false });
    });

    it('a public client learns nothing, not even about its own tokens', async () => {
      const tokens = await userTokens(spa);
      expect(await introspect(spa, tokens.access_token)).to.deep.equal({ active: false });
    });

    it('needs client authentication; unknown tokens are inactive', async () => {
      const cc = await oidc.clientCredentialsGrant(service);
      const anonymous = await post(m().introspection_endpoint, { token: cc.access_token });
      expect(anonymous.status).to.equal(400);
      expect(await anonymous.json()).to.include({ error: 'invalid_request' });
      const wrong = await post(
        m().introspection_endpoint,
        { token: cc.access_token },
        basic('service', 'not-the-secret-at-all'),
      );
      expect(wrong.status).to.equal(401);
      expect(await wrong.json()).to.include({ error: 'invalid_client' });
      expect(await introspect(service, 'A'.repeat(43))).to.deep.equal({ active: false });
    });
  });

  describe('revocation', () => {
    it('revoking a refresh token ends the grant: its access token and refresh stop working', async () => {
      const tokens = await userTokens(webapp);
      await oidc.tokenRevocation(webapp, tokens.refresh_token ?? '');
      expect(await introspect(webapp, tokens.access_token)).to.deep.equal({ active: false });
      const refresh = await oidc.refreshTokenGrant(webapp, tokens.refresh_token ?? '').catch((err) => err);
      expect(refresh).to.include({ error: 'invalid_grant' });
    });

    it("another client's token: refused with invalid_request and left alone", async () => {
      const tokens = await userTokens(webapp);
      const foreign = await oidc.tokenRevocation(service, tokens.access_token).catch((err) => err);
      expect(foreign).to.be.instanceOf(oidc.ResponseBodyError);
      expect(foreign).to.include({ error: 'invalid_request', status: 400 });
      expect(await introspect(webapp, tokens.access_token)).to.include({ active: true });
      // A public client presenting it is answered 200 as RFC 7009 wants, and the token still lives.
      await oidc.tokenRevocation(spa, tokens.access_token);
      expect(await introspect(webapp, tokens.access_token)).to.include({ active: true });
    });

    it('a public client revokes its own refresh token (an SPA at logout)', async () => {
      const tokens = await userTokens(spa);
      await oidc.tokenRevocation(spa, tokens.refresh_token ?? '');
      const refresh = await oidc.refreshTokenGrant(spa, tokens.refresh_token ?? '').catch((err) => err);
      expect(refresh).to.include({ error: 'invalid_grant' });
    });

    it('needs client authentication; an unknown token is a 200 with nothing done', async () => {
      const cc = await oidc.clientCredentialsGrant(service);
      const before = await stored();
      const anonymous = await post(m().revocation_endpoint, { token: cc.access_token });
      expect(anonymous.status).to.equal(400);
      const wrong = await post(
        m().revocation_endpoint,
        { token: cc.access_token },
        basic('service', 'not-the-secret-at-all'),
      );
      expect(wrong.status).to.equal(401);
      expect(await introspect(service, cc.access_token)).to.include({ active: true });
      await oidc.tokenRevocation(service, 'A'.repeat(43));
      expect(await stored()).to.equal(before);
    });
  });
});
