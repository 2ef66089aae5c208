// `nextauth sfs server create|list` against an embedded SFS database, as a real child process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth sfs', function () {
  this.timeout(60_000);
  let dataDir: string;
  let env: Record<string, string>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-sfs-cli-'));
    env = { NEXTAUTH_DATA_DIR: dataDir };
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('asks for `nextauth migrate` on an unmigrated database', async () => {
    const r = await runCli(cli, ['sfs', 'server', 'create', '--server', 'ns-acme'], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /^nextauth: sfs database has \d+ pending migration\(s\); run `nextauth migrate`/,
    );
  });

  it('registers servers with default and explicit policies and lists them', async () => {
    expect((await runCli(cli, ['migrate', '--service', 'sfs'], env)).code).to.equal(0);
    const plain = await runCli(cli, ['sfs', 'server', 'create', '--server', 'ns-acme'], env);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.equal(
      'registered ns-acme: 5 attempts, lockout 300s doubling to 86400s, blocks at lockout 5\n',
    );
    const keyFile = join(dataDir, 'ns.jwk');
    await writeFile(keyFile, JSON.stringify(await exportJWK((await generateKeyPair('ES256')).publicKey)));
    const json = await runCli(
      cli,
      [
        'sfs',
        'server',
        'create',
        '--server',
        'ns-bank',
        '--max-attempts',
        '3',
        '--lockout-seconds',
        '60',
        '--block-after-lockouts',
        '0',
        '--public-key-file',
        keyFile,
        '--json',
      ],
      env,
    );
    expect(json.code, json.stderr).to.equal(0);
    const created = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(created).to.deep.include({
      id: 'ns-bank',
      policy: { maxAttempts: 3, lockoutSeconds: 60, maxLockoutSeconds: 86_400, blockAfterLockouts: 0 },
    });
    expect(created.keyThumbprint).to.match(/^[A-Za-z0-9_-]{43}$/);
    const list = await runCli(cli, ['sfs', 'server', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id)).to.deep.equal([
      'ns-acme',
      'ns-bank',
    ]);
  });

  it('refuses a duplicate id, a bad number and an invalid policy with one clear line', async () => {
    const dup = await runCli(cli, ['sfs', 'server', 'create', '--server', 'ns-acme'], env);
    expect(dup.code).to.equal(1);
    expect(dup.stderr).to.equal(
      'nextauth: NS server "ns-acme" or its key is already registered (conflict)\n',
    );
    const nan = await runCli(
      cli,
      ['sfs', 'server', 'create', '--server', 'x', '--max-attempts', 'many'],
      env,
    );
    expect(nan.code).to.equal(1);
    expect(nan.stderr).to.contain('expected a non-negative integer');
    const zero = await runCli(cli, ['sfs', 'server', 'create', '--server', 'x', '--max-attempts', '0'], env);
    expect(zero.code).to.equal(1);
    expect(zero.stderr).to.match(
      /^nextauth: The request is malformed \(invalid_request\): policy\.maxAttempts: /,
    );
    const list = await runCli(cli, ['sfs', 'server', 'list'], env);
    expect(list.stdout.trim().split('\n')).to.have.lengthOf(2);
  });
});
