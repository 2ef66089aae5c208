// Claims from the NS user record: `profile` → name + preferred_username, `email` → email + email_verified
// (false unless the record's `email_verified` attribute says "true"), `groups` → groups; in the ID token and
// in userinfo, only for the scopes asked for; a user with accounts but no user record logs in with sub only.
import { expect } from 'chai';
import * as oidc from 'openid-client';
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
} from './harness.js';

describe('idp/oidc: claims from NS user attributes', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let alice: Phone;
  let carol: Phone;

  const putUser = async (userid: string, profile: object) => {
    const res = await fetch(`${e.url}/ns/api/v2/servers/default/users/${userid}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify(profile),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
  };

  before(async () => {
    e = await startEmbedded();
    const { secret } = await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    carol = await Phone.open(e.url);
    await carol.enrol(e.url, 'carol');
    await putUser('alice', {
      name: 'Alice Example',
      email: 'alice@example.org',
      groups: ['staff', 'admins'],
      attributes: { department: 'R&D' },
    });
  });
  after(() => e?.close());

  const login = async (phone: Phone, scope: string) => {
    const request = await authRequest(webapp, { scope });
    const callback = await authorize(new Browser(e.url), request, phone);
    return oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
      idTokenExpected: true,
    });
  };
  const builtIn = ['iss', 'aud', 'sub', 'exp', 'iat', 'nonce', 'at_hash', 'acr', 'amr', 'auth_time', 'sid'];

  it('discovery lists the scopes and their claims', () => {
    const m = webapp.serverMetadata();
    expect(m.scopes_supported).to.include.members(['openid', 'profile', 'email', 'groups']);
    expect(m.claims_supported).to.include.members([
      'name',
      'preferred_username',
      'email',
      'email_verified',
      'groups',
    ]);
  });

  it('profile, email and groups: in the ID token and in userinfo; attributes are not claims', async () => {
    const tokens = await login(alice, 'openid profile email groups');
    const expected = {
      sub: 'alice',
      name: 'Alice Example',
      preferred_username: 'alice',
      email: 'alice@example.org',
      email_verified: false,
      groups: ['admins', 'staff'],
    };
    expect(tokens.claims()).to.deep.include(expected);
    expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice')).to.deep.equal(expected);
  });

  it('only the claims of the scopes asked for', async () => {
    const openid = await login(alice, 'openid');
    expect(Object.keys(openid.claims() ?? {})).to.have.members(
      builtIn.filter((k) => k in (openid.claims() ?? {})),
    );
    expect(await oidc.fetchUserInfo(webapp, openid.access_token, 'alice')).to.deep.equal({ sub: 'alice' });
    const email = await login(alice, 'openid email');
    expect(await oidc.fetchUserInfo(webapp, email.access_token, 'alice')).to.deep.equal({
      sub: 'alice',
      email: 'alice@example.org',
      email_verified: false,
    });
    expect(email.claims()).to.not.have.any.keys('name', 'groups', 'preferred_username');
  });

  it('email_verified is true only when the attribute email_verified is "true"; changes show in the next token', async () => {
    await putUser('alice', { email: 'alice@example.org', attributes: { email_verified: 'true' } });
    const tokens = await login(alice, 'openid email profile groups');
    expect(tokens.claims()).to.deep.include({ email: 'alice@example.org', email_verified: true });
    // The name was emptied by the PUT: no name claim at all rather than null; an empty group list stays.
    expect(tokens.claims()).to.not.have.property('name');
    expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice')).to.deep.equal({
      sub: 'alice',
      preferred_username: 'alice',
      email: 'alice@example.org',
      email_verified: true,
      groups: [],
    });
    await putUser('alice', { email: 'alice@example.org', attributes: { email_verified: 'yes' } });
    expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice')).to.deep.include({
      email_verified: false,
    });
  });

  it('a user with an account but no NS user record logs in with sub only', async () => {
    const tokens = await login(carol, 'openid profile email groups');
    const claims: Record<string, unknown> = tokens.claims() ?? {};
    expect(claims.sub).to.equal('carol');
    expect(claims).to.not.have.any.keys('name', 'preferred_username', 'email', 'email_verified', 'groups');
    expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'carol')).to.deep.equal({ sub: 'carol' });
  });
});
