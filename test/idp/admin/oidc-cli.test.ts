// `nextauth oidc client add|list|show|update|remove` and `nextauth oidc rotate-keys` as real child processes
// against a started embedded runtime, through the IdP management API: output, --json, a secret shown once,
// and one clear line with a non-zero exit (and nothing stored) for every refusal.
import { expect } from 'chai';
import { runCli } from '../../helpers/cli.js';
import { type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth oidc (over /idp/api/v1)', function () {
  // Every case spawns `nextauth` through tsx (seconds each on a loaded machine).
  this.timeout(180_000);
  let e: Embedded;
  const rows = async () => JSON.stringify(await e.runtime.dbs.idp?.('idp_oidc_clients').orderBy('client_id'));
  const run = (...args: string[]) =>
    runCli(cli, ['oidc', ...args, '--url', e.url], { NEXTAUTH_NS_ROOT_API_KEY: rootApiKey });

  before(async () => {
    e = await startEmbedded();
    const res = await fetch(`${e.url}/ns/api/v2/servers`, {
      method: 'POST',
      headers: { 'x-apikey': rootApiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'acme', displayName: 'Acme' }),
    });
    expect(res.status).to.equal(201);
  });
  after(() => e?.close());

  it('adds a confidential client with a generated secret shown once, and a public one', async () => {
    const added = await run(
      'client',
      'add',
      '--id',
      'webapp',
      '--redirect-uri',
      'https://app.example/cb',
      '--redirect-uri',
      'https://app.example/cb2',
      '--name',
      'Web app',
    );
    expect(added.code, added.stderr).to.equal(0);
    const lines = added.stdout.trim().split('\n');
    expect(lines[0]).to.equal(
      'added default/webapp (confidential, client_secret_basic): https://app.example/cb https://app.example/cb2 [authorization_code, refresh_token]',
    );
    expect(lines[1]).to.equal(`issuer: ${e.url}/oidc/default`);
    expect(lines[2]).to.match(/^client secret \(shown once\): [A-Za-z0-9_-]{43}$/);

    const pub = await run(
      'client',
      'add',
      '--server',
      'acme',
      '--id',
      'spa',
      '--public',
      '--redirect-uri',
      'http://127.0.0.1:5173/cb',
      '--grant-types',
      'authorization_code',
      '--subject-type',
      'pairwise',
      '--require-par',
      '--json',
    );
    expect(pub.code, pub.stderr).to.equal(0);
    const json = JSON.parse(pub.stdout) as Record<string, unknown>;
    expect(json).to.deep.include({
      server: 'acme',
      clientId: 'spa',
      public: true,
      tokenEndpointAuthMethod: 'none',
      grantTypes: ['authorization_code'],
      subjectType: 'pairwise',
      requirePar: true,
      issuer: `${e.url}/oidc/acme`,
    });
    expect(json).to.not.have.property('secret');
  });

  it('adds a service client and one with logout URIs; a given secret is not echoed', async () => {
    const service = await run('client', 'add', '--id', 'service', '--grant-types', 'client_credentials');
    expect(service.code, service.stderr).to.equal(0);
    expect(service.stdout.split('\n')[0]).to.equal(
      'added default/service (confidential, client_secret_basic): - [client_credentials]',
    );
    const logout = await run(
      'client',
      'add',
      '--id',
      'logout',
      '--secret',
      'a-given-secret-of-enough-length',
      '--redirect-uri',
      'https://l.example/cb',
      '--post-logout-redirect-uri',
      'https://l.example/bye',
      '--backchannel-logout-uri',
      'https://l.example/backchannel',
      '--grant-types',
      'authorization_code,client_credentials',
      '--third-party',
      '--json',
    );
    expect(logout.code, logout.stderr).to.equal(0);
    expect(logout.stdout).to.not.contain('a-given-secret');
    expect(JSON.parse(logout.stdout)).to.deep.include({
      redirectUris: ['https://l.example/cb'],
      postLogoutRedirectUris: ['https://l.example/bye'],
      backchannelLogoutUri: 'https://l.example/backchannel',
      grantTypes: ['authorization_code', 'client_credentials'],
      thirdParty: true,
    });
  });

  it('lists (paged), shows, updates and removes', async () => {
    const list = await run('client', 'list');
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.contain(
      'default/logout (confidential, client_secret_basic, third-party): https://l.example/cb logout: https://l.example/bye back-channel logout: https://l.example/backchannel [authorization_code, client_credentials]\n',
    );
    const paged = JSON.parse((await run('client', 'list', '--limit', '2', '--json')).stdout) as {
      clients: { clientId: string }[];
      next_marker: string;
    };
    // `demo` is the embedded runtime's own demo relying party (/demo).
    expect(paged.clients.map((c) => c.clientId)).to.deep.equal(['demo', 'logout']);
    const rest = await run('client', 'list', '--limit', '2', '--marker', paged.next_marker);
    expect(rest.stdout).to.match(/^default\/service .*\ndefault\/webapp /);
    expect((await run('client', 'list', '--server', 'acme')).stdout).to.equal(
      'acme/spa (public, PKCE, pairwise, PAR required): http://127.0.0.1:5173/cb [authorization_code]\n',
    );

    const shown = await run('client', 'show', '--id', 'webapp', '--json');
    expect(JSON.parse(shown.stdout))
      .to.deep.include({ clientId: 'webapp', name: 'Web app' })
      .and.not.have.property('secret');

    const updated = await run(
      'client',
      'update',
      '--id',
      'logout',
      '--no-backchannel-logout',
      '--first-party',
      '--require-par',
      '--redirect-uri',
      'https://l.example/cb3',
    );
    expect(updated.code, updated.stderr).to.equal(0);
    expect(updated.stdout).to.equal(
      'updated default/logout (confidential, client_secret_basic, PAR required): https://l.example/cb3 logout: https://l.example/bye [authorization_code, client_credentials]\n',
    );
    const undone = await run('client', 'update', '--id', 'logout', '--no-require-par', '--json');
    expect(JSON.parse(undone.stdout)).to.deep.include({ requirePar: false, thirdParty: false });

    expect((await run('client', 'remove', '--id', 'service')).stdout).to.equal('removed default/service\n');
    const again = await run('client', 'remove', '--id', 'service');
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/^nextauth: oidc client remove refused: 404 No such OIDC client\n$/);
  });

  it('refusals: one clear line, exit 1, nothing stored', async () => {
    const before = await rows();
    const cases: [string[], RegExp][] = [
      [
        ['add', '--id', 'webapp', '--redirect-uri', 'https://app.example/cb'],
        /^nextauth: oidc client add refused: 409 That oidc client exists already\n$/,
      ],
      [
        ['add', '--id', 'x', '--redirect-uri', 'https://app.example/cb#f'],
        /^nextauth: oidc client add refused: 400 .*\(redirectUris\.0: expected an absolute http\(s\) URL without a fragment\)\n$/,
      ],
      [['add', '--id', 'x'], /refused: 400 .*\(redirectUris: at least one redirect URI\)/],
      [
        ['add', '--id', 'x', '--public', '--grant-types', 'client_credentials'],
        /\(grantTypes: client_credentials needs a confidential client\)/,
      ],
      [
        ['add', '--id', 'x', '--grant-types', 'password'],
        /option '--grant-types <list>' argument 'password' is invalid/,
      ],
      [['add', '--id', 'x', '--subject-type', 'secret'], /argument 'secret' is invalid/],
      [
        [
          'add',
          '--id',
          'x',
          '--redirect-uri',
          'https://a.example/cb',
          '--redirect-uri',
          'https://b.example/cb',
          '--subject-type',
          'pairwise',
        ],
        /\(subjectType: pairwise subjects need all redirect URIs on one host/,
      ],
      [['add', '--id', 'bad id', '--redirect-uri', 'https://a.example/cb'], /\(clientId: /],
      [
        ['add', '--server', 'nowhere', '--id', 'x', '--redirect-uri', 'https://a.example/cb'],
        /refused: 404 No such virtual server/,
      ],
      [['update', '--id', 'webapp'], /^nextauth: nothing to change/],
      [['update', '--id', 'webapp', '--grant-types', 'client_credentials'], /refused: 400 .*redirectUris/],
      [['show', '--id', 'nobody'], /refused: 404 No such OIDC client/],
    ];
    for (const [args, stderr] of cases) {
      const r = await run('client', ...args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(stderr);
      expect(r.stdout).to.equal('');
    }
    const wrongKey = await runCli(cli, ['oidc', 'client', 'list', '--url', e.url], {
      NEXTAUTH_NS_ROOT_API_KEY: 'not-the-key',
    });
    expect(wrongKey.code).to.equal(1);
    expect(wrongKey.stderr).to.match(/refused: 401 .*\(wrong API key\?\)/);
    expect(await rows()).to.equal(before);
  });

  it('rotate-keys rotates the keys of a server', async () => {
    const first = await run('rotate-keys', '--server', 'acme', '--json');
    expect(first.code, first.stderr).to.equal(0);
    const keys = JSON.parse(first.stdout) as { alg: string; state: string }[];
    expect(keys.map((k) => `${k.alg}:${k.state}`)).to.deep.equal([
      'RS256:current',
      'ES256:current',
      'RS256:next',
      'ES256:next',
      'RS256:retired',
      'ES256:retired',
    ]);
    const human = await run('rotate-keys', '--server', 'acme');
    expect(human.stdout.trim().split('\n')).to.have.length(8);
    expect(human.stdout).to.match(/^RS256 current [A-Za-z0-9_-]{43}\n/);
  });
});
