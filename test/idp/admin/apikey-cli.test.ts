// `nextauth apikey create|list|revoke` as real child processes against a running NS REST API: the secret
// alone on line 1 and usable at once, --json, list without secrets, revoke, one clear line on failure.
import { expect } from 'chai';
import { api, managedState } from '../../auth-server/ns/api/fixtures-admin.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth apikey', function () {
  // Each case spawns the CLI (tsx compiles on start): generous on a loaded 2-core machine.
  this.timeout(180_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const run = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['apikey', ...args, '--url', h.url], env);

  let created: { id: string; key: string };

  it('create prints the secret alone on the first line; the key works at once', async () => {
    const r = await run(['create', '--server', 'acme', '--name', 'shop backend', '--role', 'sessions']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^nak_[A-Za-z0-9_-]{43}$/);
    const res = await api(h)('POST', 'session', lines[0], { server: 'acme' });
    expect(res.status).to.equal(201);
  });

  it('create --json prints the key with its secret; roles repeat', async () => {
    const r = await run([
      'create',
      '--server',
      'acme',
      '--name',
      'admin',
      '--role',
      'users',
      '--role',
      'accounts',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    created = JSON.parse(r.stdout) as { id: string; key: string };
    expect(created).to.include({ server: 'acme', name: 'admin', createdBy: 'root' });
    expect((created as unknown as { roles: string[] }).roles).to.deep.equal(['users', 'accounts']);
  });

  it('list shows ids, names and roles, never secrets; --json gives {apiKeys}', async () => {
    const r = await run(['list', '--server', 'acme']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`${created.id}\tadmin\tusers,accounts\t`);
    expect(r.stdout).to.not.contain('nak_');
    const j = await run(['list', '--server', 'acme', '--json']);
    const keys = (JSON.parse(j.stdout) as { apiKeys: { name: string }[] }).apiKeys;
    expect(keys.map((k) => k.name)).to.have.members(['shop backend', 'admin']);
    expect(j.stdout).to.not.contain('nak_');
  });

  it('revoke stops the key', async () => {
    const r = await run(['revoke', '--server', 'acme', created.id, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ revoked: created.id });
    const res = await api(h)('POST', 'enrol-links', created.key, { server: 'acme', userid: 'a' });
    expect(res.status).to.equal(401);
  });

  it('fails with one clear line and changes nothing', async () => {
    const before = await managedState(h);
    const cases = [
      [
        await run(['create', '--server', 'acme', '--name', 'x', '--role', 'admin']),
        /error: option .*--role.* argument 'admin' is invalid/,
      ],
      [
        await run(['create', '--server', 'acme', '--name', 'x']),
        /error: required option '--role <role>' not specified/,
      ],
      [
        await run(['create', '--server', 'acme', '--name', '', '--role', 'users']),
        /^nextauth: apikey create refused: 400 .*name:/,
      ],
      [
        await run(['create', '--server', 'nope', '--name', 'x', '--role', 'users']),
        /^nextauth: apikey create refused: 404/,
      ],
      [await run(['revoke', '--server', 'acme', created.id]), /^nextauth: apikey revoke refused: 404/],
      [
        await run(['list', '--server', 'acme'], { NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef' }),
        /^nextauth: apikey list refused: 401 .*wrong API key/,
      ],
    ] as const;
    for (const [r, pattern] of cases) {
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(pattern);
    }
    expect(await managedState(h)).to.deep.equal(before);
  });

  it('is listed in --help', async () => {
    const r = await runCli(cli, ['apikey', '--help']);
    expect(r.code).to.equal(0);
    for (const c of ['create', 'list', 'revoke']) expect(r.stdout).to.contain(c);
  });
});
