import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import knexFactory from 'knex';
import { exited, runCli, spawnCli, waitFor } from '../../helpers/cli.js';
import { freePort } from '../../helpers/http.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth CLI', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-cli-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('--help lists the commands and exits 0', async () => {
    const r = await runCli(cli, ['--help']);
    expect(r.code).to.equal(0);
    for (const c of ['start', 'serve', 'migrate', 'config'])
      expect(r.stdout).to.match(new RegExp(`\\b${c}\\b`));
  });

  it('stops with one clear line when NEXTAUTH_PORT is not a number', async () => {
    const r = await runCli(cli, ['start'], { NEXTAUTH_PORT: 'abc', NEXTAUTH_DATA_DIR: dataDir });
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.lengthOf(1);
    expect(r.stderr).to.match(/^nextauth: NEXTAUTH_PORT: expected a port number.*"abc"/);
  });

  it('refuses an unknown service and a service without shared KV', async () => {
    const unknown = await runCli(cli, ['serve', 'foo']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('unknown service "foo"');
    const noKv = await runCli(cli, ['serve', 'ns'], { NEXTAUTH_DATA_DIR: dataDir });
    expect(noKv.code).to.equal(2);
    expect(noKv.stderr).to.match(/^nextauth: NEXTAUTH_KV_URI: required for `serve`/);
  });

  it('start: serves /healthz and /readyz, creates `default`, and stops cleanly on SIGTERM', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const child = spawnCli(cli, ['start'], {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PORT: String(port),
      NEXTAUTH_ADMIN_PORT: String(adminPort),
      NEXTAUTH_HOST: '127.0.0.1',
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      await waitFor(`http://127.0.0.1:${adminPort}/healthz`);
      const ready = await waitFor(`http://127.0.0.1:${adminPort}/readyz`);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks).to.deep.equal({
        'db:ns': 'ok',
        'db:sfs': 'ok',
        'db:mc': 'ok',
        'db:idp': 'ok',
        kv: 'ok',
      });
      const home = await fetch(`http://127.0.0.1:${port}/`);
      expect(home.status).to.equal(200);
      const page = await home.text();
      expect(page).to.contain('nextAuth IdP is running');
      // The next steps name this server's URL for the virtual phone.
      expect(page).to.contain(`npx nextauth-device init http://localhost:${port}`);
      expect(stdout).to.contain(`http://localhost:${port}/`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).to.equal(0);
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: join(dataDir, 'ns.sqlite') },
      useNullAsDefault: true,
    });
    try {
      const rows = await db('ns_virtual_servers').select('name');
      expect(rows.map((r: { name: string }) => r.name)).to.deep.equal(['default']);
    } finally {
      await db.destroy();
    }
  });

  it('start: refuses to start on a port that is taken, with a clear message', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const env = {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PORT: String(port),
      NEXTAUTH_ADMIN_PORT: String(adminPort),
      NEXTAUTH_HOST: '127.0.0.1',
    };
    const first = spawnCli(cli, ['start'], env);
    try {
      await waitFor(`http://127.0.0.1:${adminPort}/healthz`);
      const second = await runCli(cli, ['start'], env);
      expect(second.code).to.equal(1);
      expect(second.stderr).to.contain('EADDRINUSE');
    } finally {
      first.kill('SIGTERM');
      await exited(first);
    }
  });

  it('migrate: shows pending migrations, applies them, and is idempotent', async () => {
    const env = { NEXTAUTH_DATA_DIR: dataDir };
    const before = await runCli(cli, ['migrate', '--status', '--json', '--service', 'ns'], env);
    expect(before.code, before.stderr).to.equal(0);
    const pending = JSON.parse(before.stdout) as { ns: { applied: string[]; pending: string[] } };
    expect(pending.ns.applied).to.deep.equal([]);
    expect(pending.ns.pending.length).to.be.greaterThan(0);
    const run = await runCli(cli, ['migrate', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);
    const after = JSON.parse(run.stdout) as Record<string, { pending: string[]; ran: string[] }>;
    expect(Object.keys(after)).to.deep.equal(['ns', 'sfs', 'mc', 'idp']);
    expect(after.ns?.pending).to.deep.equal([]);
    expect(after.ns?.ran).to.deep.equal(pending.ns.pending);
    const again = await runCli(cli, ['migrate', '--json'], env);
    expect((JSON.parse(again.stdout) as Record<string, { ran: string[] }>).ns?.ran).to.deep.equal([]);
  });

  it('migrate: rejects an unknown service', async () => {
    const r = await runCli(cli, ['migrate', '--service', 'xyz'], { NEXTAUTH_DATA_DIR: dataDir });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('unknown service(s): xyz');
  });

  it('config --markdown prints every setting', async () => {
    const r = await runCli(cli, ['config', '--markdown']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('`NEXTAUTH_PORT`');
  });
});
