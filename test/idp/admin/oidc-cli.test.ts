// `nextauth oidc client add|list|remove` and `nextauth oidc rotate-keys` on an embedded IdP database, as
// real child processes: output, --json, and one clear line with a non-zero exit for every refusal.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth oidc', function () {
  // Every case spawns `nextauth` through tsx (seconds each on a loaded machine).
  this.timeout(180_000);
  let dataDir: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => runCli(cli, ['oidc', ...args], env);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-oidc-cli-'));
    env = { NEXTAUTH_DATA_DIR: dataDir, NEXTAUTH_PUBLIC_URL: 'https://id.example' };
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('needs the secret key of the data directory and a migrated database', async () => {
    const noKey = await run('client', 'list');
    expect(noKey.code).to.equal(1);
    expect(noKey.stderr).to.match(
      /^nextauth: NEXTAUTH_SECRET_KEY is not set and .*secret-key does not exist/,
    );
    await writeFile(join(dataDir, 'secret-key'), 'cli-test-secret-key-0123456789\n', { mode: 0o600 });
    const unmigrated = await run('client', 'list');
    expect(unmigrated.code).to.equal(1);
    expect(unmigrated.stderr).to.match(
      /^nextauth: idp database has \d+ pending migration\(s\); run `nextauth migrate`/,
    );
    expect((await runCli(cli, ['migrate', '--service', 'idp'], env)).code).to.equal(0);
  });

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
    expect(lines[1]).to.equal('issuer: https://id.example/oidc/default');
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
      issuer: 'https://id.example/oidc/acme',
    });
    expect(json).to.not.have.property('secret');
  });

  it('adds a service client (client_credentials only) and one with post-logout redirect URIs', async () => {
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
    expect(JSON.parse(logout.stdout)).to.deep.include({
      redirectUris: ['https://l.example/cb'],
      postLogoutRedirectUris: ['https://l.example/bye'],
      backchannelLogoutUri: 'https://l.example/backchannel',
      grantTypes: ['authorization_code', 'client_credentials'],
      thirdParty: true,
    });
    expect((await run('client', 'list', '--server', 'default')).stdout).to.contain(
      'default/logout (confidential, client_secret_basic, third-party): https://l.example/cb logout: https://l.example/bye back-channel logout: https://l.example/backchannel [authorization_code, client_credentials]',
    );
    for (const id of ['service', 'logout'])
      expect((await run('client', 'remove', '--id', id)).code).to.equal(0);
  });

  it('a given secret is stored, not echoed', async () => {
    const r = await run(
      'client',
      'add',
      '--id',
      'given',
      '--secret',
      'a-given-secret-of-enough-length',
      '--redirect-uri',
      'https://g.example/cb',
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.not.contain('a-given-secret');
  });

  it('refuses duplicates, bad redirect URIs, unknown grant types and a public client with a secret', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--id', 'webapp', '--redirect-uri', 'https://app.example/cb'],
        /^nextauth: default\/webapp already exists\n$/,
      ],
      [
        ['--id', 'x', '--redirect-uri', 'https://app.example/cb#f'],
        /^nextauth: invalid client: redirectUris\.0: expected an absolute http\(s\) URL without a fragment\n$/,
      ],
      [['--id', 'x'], /^nextauth: invalid client: redirectUris: at least one redirect URI\n$/],
      [
        ['--id', 'x', '--public', '--grant-types', 'client_credentials'],
        /^nextauth: invalid client: grantTypes: client_credentials needs a confidential client\n$/,
      ],
      [
        ['--id', 'x', '--grant-types', 'client_credentials,refresh_token'],
        /^nextauth: invalid client: grantTypes: refresh_token needs authorization_code\n$/,
      ],
      [
        ['--id', 'x', '--grant-types', 'client_credentials', '--redirect-uri', 'https://a.example/cb'],
        /^nextauth: invalid client: redirectUris: redirect URIs need authorization_code\n$/,
      ],
      [
        [
          '--id',
          'x',
          '--grant-types',
          'client_credentials',
          '--post-logout-redirect-uri',
          'https://a.example/',
        ],
        /^nextauth: invalid client: postLogoutRedirectUris: post-logout redirect URIs need authorization_code\n$/,
      ],
      [
        [
          '--id',
          'x',
          '--grant-types',
          'client_credentials',
          '--backchannel-logout-uri',
          'https://a.example/bc',
        ],
        /^nextauth: invalid client: backchannelLogoutUri: back-channel logout needs authorization_code\n$/,
      ],
      [
        [
          '--id',
          'x',
          '--redirect-uri',
          'https://a.example/cb',
          '--backchannel-logout-uri',
          'https://a.example/#f',
        ],
        /^nextauth: invalid client: backchannelLogoutUri: expected an absolute http\(s\) URL/,
      ],
      [
        ['--id', 'x', '--redirect-uri', 'https://a.example/cb', '--post-logout-redirect-uri', 'javascript:x'],
        /^nextauth: invalid client: postLogoutRedirectUris\.0: expected an absolute http\(s\) URL/,
      ],
      [
        ['--id', 'x', '--redirect-uri', 'https://a.example/cb', '--grant-types', 'password'],
        /^nextauth: invalid client: grantTypes\.0: /,
      ],
      [
        [
          '--id',
          'x',
          '--public',
          '--secret',
          'sixteen-chars-secret',
          '--redirect-uri',
          'https://a.example/cb',
        ],
        /^nextauth: invalid client: .*a public client has no secret/,
      ],
      [['--id', 'bad id', '--redirect-uri', 'https://a.example/cb'], /^nextauth: invalid client: clientId: /],
    ];
    for (const [args, stderr] of cases) {
      const r = await run('client', 'add', ...args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(stderr);
      expect(r.stdout).to.equal('');
    }
  });

  it('lists, filters by server, and removes', async () => {
    const all = JSON.parse((await run('client', 'list', '--json')).stdout) as {
      server: string;
      clientId: string;
    }[];
    expect(all.map((c) => `${c.server}/${c.clientId}`)).to.deep.equal([
      'acme/spa',
      'default/given',
      'default/webapp',
    ]);
    const acme = await run('client', 'list', '--server', 'acme');
    expect(acme.stdout).to.equal('acme/spa (public, PKCE): http://127.0.0.1:5173/cb [authorization_code]\n');
    expect((await run('client', 'remove', '--id', 'given')).stdout).to.equal('removed default/given\n');
    const again = await run('client', 'remove', '--id', 'given');
    expect(again.code).to.equal(1);
    expect(again.stderr).to.equal('nextauth: no client given on default\n');
  });

  it('rotate-keys creates the keys of a server on first use and rotates them after', async () => {
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
