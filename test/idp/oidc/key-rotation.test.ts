// Signing-key rotation on a running provider: `nextauth oidc rotate-keys` (a real child process, through
// /idp/api/v1) promotes the key that the JWKS already published, the running provider picks the change up
// at its next re-check, and ID tokens signed before the rotation still verify. A client registered with
// `nextauth oidc client add` logs in without a restart.
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { runCli } from '../../helpers/cli.js';
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

const cli = 'idp/admin/cli/main.ts';

describe('idp/oidc: key rotation and CLI-registered clients on a running server', function () {
  this.timeout(90_000);
  let e: Embedded;
  let offset = 0;
  let env: Record<string, string>;
  let config: oidc.Configuration;
  let alice: Phone;
  const b = () => new Browser(e.url);

  const jwks = async (): Promise<JSONWebKeySet> =>
    (await (await fetch(`${e.issuer}/jwks`)).json()) as JSONWebKeySet;

  before(async () => {
    // The runtime's clock runs `offset` ms ahead, so the test can move past the provider's 30 s re-check.
    e = await startEmbedded({ clock: { now: () => Date.now() + offset } });
    env = { NEXTAUTH_PUBLIC_URL: e.url, NEXTAUTH_NS_ROOT_API_KEY: rootApiKey };
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  it('a client added with the CLI logs in at once, no restart', async () => {
    const added = await runCli(
      cli,
      ['oidc', 'client', 'add', '--id', 'cli-app', '--redirect-uri', redirectUri, '--json'],
      env,
    );
    expect(added.code, added.stderr).to.equal(0);
    const { secret, issuer } = JSON.parse(added.stdout) as { secret: string; issuer: string };
    expect(issuer).to.equal(e.issuer);
    config = await discover(e.issuer, 'cli-app', secret);
    const request = await authRequest(config);
    const tokens = await oidc.authorizationCodeGrant(config, await authorize(b(), request, alice), {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    expect(tokens.claims()?.sub).to.equal('alice');
  });

  it('rotate-keys signs with the published next key; old tokens still verify', async () => {
    const before = await jwks();
    const request = await authRequest(config);
    const browser = b();
    const old = await oidc.authorizationCodeGrant(config, await authorize(browser, request, alice), {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    const oldKid = decodeProtectedHeader(old.id_token ?? '').kid;
    const published = before.keys.filter((k) => k.alg === 'RS256' && k.key_ops).map((k) => k.kid);
    expect(published).to.have.length(1);

    const rotated = await runCli(cli, ['oidc', 'rotate-keys', '--server', 'default', '--json'], env);
    expect(rotated.code, rotated.stderr).to.equal(0);
    const keys = JSON.parse(rotated.stdout) as { kid: string; alg: string; state: string }[];
    expect(keys.find((k) => k.alg === 'RS256' && k.state === 'current')?.kid).to.equal(published[0]);
    expect(keys.find((k) => k.alg === 'RS256' && k.state === 'retired')?.kid).to.equal(oldKid);

    // Until the provider re-checks (30 s) it serves what it has; both keys are published either way.
    expect(await jwks()).to.deep.equal(before);
    offset += 31_000;
    const after = await jwks();
    expect(
      after.keys.map(
        (k) => `${k.alg}:${k.kid === published[0] ? 'promoted' : k.key_ops ? 'verify' : 'sign'}`,
      ),
    ).to.deep.equal([
      'RS256:promoted',
      'ES256:sign',
      'RS256:verify',
      'ES256:verify',
      'RS256:verify',
      'ES256:verify',
    ]);

    // New ID tokens carry the promoted key; the one signed before still verifies against the new JWKS.
    const next = await authRequest(config);
    const fresh = await oidc.authorizationCodeGrant(config, await authorize(browser, next), {
      pkceCodeVerifier: next.verifier,
      expectedNonce: next.nonce,
      expectedState: next.state,
    });
    expect(decodeProtectedHeader(fresh.id_token ?? '').kid).to.equal(published[0]);
    const { payload } = await jwtVerify(old.id_token ?? '', createLocalJWKSet(after), {
      issuer: e.issuer,
      audience: 'cli-app',
      currentDate: new Date(),
    });
    expect(payload.sub).to.equal('alice');
  });
});
