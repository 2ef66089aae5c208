// `nextauth server create|list|show|update|delete` as real child processes against a running NS REST API:
// options become the documented body, --json output, one clear line on every failure, nothing changed then.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { api, managedState, publisherJwk, tinyPng } from '../../auth-server/ns/api/fixtures-admin.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth server', function () {
  // Each case spawns the CLI (tsx compiles on start): generous on a loaded 2-core machine.
  this.timeout(180_000);
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), 'nextauth-server-cli-'));
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['server', ...args, '--url', h.url], env);
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

  it('create sends name, display name, policy, logo file and allowed apps; --json prints the server', async () => {
    const logo = join(dir, 'logo.png');
    await writeFile(logo, tinyPng);
    const jwkFile = join(dir, 'publisher.jwk');
    const jwk = publisherJwk();
    await writeFile(jwkFile, JSON.stringify(jwk));
    const r = await run([
      'create',
      'bank',
      '--display-name',
      'Bank',
      '--pin-attempts',
      '3',
      '--lockout',
      '60',
      '--login-timeout',
      '90',
      '--pushes-per-minute',
      '10',
      '--client-pushes-per-minute',
      '4',
      '--not-me',
      'block_account',
      '--logo',
      logo,
      '--allow-app',
      `Demo=${jwkFile}`,
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const server = json(r.stdout);
    expect(server).to.include({
      name: 'bank',
      displayName: 'Bank',
      logo: `data:image/png;base64,${tinyPng.toString('base64')}`,
    });
    expect(server.policy).to.include({
      pinAttempts: 3,
      lockoutSeconds: 60,
      loginTimeoutSeconds: 90,
      pushesPerMinute: 10,
      clientPushesPerMinute: 4,
      notMe: 'block_account',
    });
    expect(server.allowedApps).to.have.length(1);
    expect((server.allowedApps as { publisherKey: unknown }[])[0]?.publisherKey).to.deep.equal(jwk);
    expect(h.sfsRegistrations.at(-1)).to.deep.include({ id: 'http://127.0.0.1:3000/ns/bank' });
  });

  it('list prints one line per server (--json: {servers}); show describes one', async () => {
    const r = await run(['list']);
    expect(r.code, r.stderr).to.equal(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).to.deep.equal(['acme', 'bank', 'other']);
    const j = await run(['list', '--json']);
    expect((json(j.stdout).servers as unknown[]).length).to.equal(3);
    const show = await run(['show', 'bank']);
    expect(show.code, show.stderr).to.equal(0);
    expect(show.stdout).to.match(/^bank: Bank\n/);
    expect(show.stdout).to.contain(
      'push            10 per minute (4 per API key and user), 3 open at once, "not me": block_account\n',
    );
    expect(show.stdout).to.contain('3 attempts, lockout 60s');
    expect(show.stdout).to.contain('Demo (');
  });

  it('update changes only what is given; --no-logo and --clear-apps remove', async () => {
    const r = await run([
      'update',
      'bank',
      '--display-name',
      'Bank AG',
      '--max-lockout',
      '600',
      '--transactions-per-minute',
      '7',
      '--max-open-transactions',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const server = json(r.stdout);
    expect(server).to.include({ displayName: 'Bank AG' });
    expect(server.policy).to.include({
      pinAttempts: 3,
      maxLockoutSeconds: 600,
      transactionsPerMinute: 7,
      maxOpenTransactions: 2,
    });
    expect((await run(['show', 'bank'])).stdout).to.contain(
      'transactions    PIN or biometrics, 7 per minute, 2 open at once\n',
    );
    expect(server.logo).to.be.a('string');
    const cleared = await run(['update', 'bank', '--no-logo', '--clear-apps', '--json']);
    expect(json(cleared.stdout)).to.include({ logo: null });
    expect(json(cleared.stdout).allowedApps).to.deep.equal([]);
    const url = await run(['update', 'bank', '--logo', 'https://cdn.example/bank.png', '--json']);
    expect(json(url.stdout)).to.include({ logo: 'https://cdn.example/bank.png' });
  });

  it('fails with one clear line and changes nothing: invalid values, unknown server, wrong key, no option', async () => {
    const before = await managedState(h);
    const cases = [
      [
        await run(['create', 'Bad_Name', '--display-name', 'x']),
        /^nextauth: server create refused: 400 .*name:/,
      ],
      [await run(['create', 'acme', '--display-name', 'x']), /^nextauth: server create refused: 409/],
      [
        await run(['update', 'bank', '--pin-attempts', '0']),
        /^nextauth: server update refused: 400 .*policy\.pinAttempts/,
      ],
      [
        await run(['update', 'bank', '--max-open-transactions', '21']),
        /^nextauth: server update refused: 400 .*policy\.maxOpenTransactions/,
      ],
      [
        await run(['update', 'bank', '--logo', 'http://cdn.example/x.png']),
        /^nextauth: server update refused: 400 .*logo: a logo URL must be https/,
      ],
      [
        await run(['update', 'bank', '--logo', join(dir, 'missing.png')]),
        /^nextauth: --logo .*cannot read the file/,
      ],
      [
        await run(['update', 'bank', '--allow-app', 'Demo={"kty":"EC"}']),
        /^nextauth: the inline JWK is not a P-256 JWK/,
      ],
      [await run(['update', 'bank']), /^nextauth: nothing to change/],
      [await run(['show', 'nope']), /^nextauth: server show refused: 404/],
      [
        await run(['list'], { NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef' }),
        /^nextauth: server list refused: 401 .*wrong API key/,
      ],
      [
        await run(['update', 'bank', '--pin-attempts', 'many']),
        /error: option .*--pin-attempts.* argument 'many' is invalid/,
      ],
    ] as const;
    for (const [r, pattern] of cases) {
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(pattern);
    }
    expect(await managedState(h)).to.deep.equal(before);
  });

  it('delete needs --yes, then deletes', async () => {
    const refused = await run(['delete', 'bank']);
    expect(refused.code).to.not.equal(0);
    expect(await h.servers.findByName('bank')).to.not.equal(undefined);
    const r = await run(['delete', 'bank', '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(json(r.stdout)).to.deep.equal({ deleted: 'bank' });
    expect((await api(h)('GET', 'servers/bank', rootKey)).status).to.equal(404);
  });

  it('is listed in --help', async () => {
    const r = await runCli(cli, ['server', '--help']);
    expect(r.code).to.equal(0);
    for (const c of ['create', 'list', 'show', 'update', 'delete']) expect(r.stdout).to.contain(c);
  });
});
