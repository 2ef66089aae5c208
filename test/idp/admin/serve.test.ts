// `nextauth serve ns` as a distributed instance on PostgreSQL + Redis.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import { exited, runCli, spawnCli, waitFor } from '../../helpers/cli.js';
import { freePort } from '../../helpers/http.js';
import { requireService } from '../../helpers/services.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth serve (PostgreSQL + Redis)', function () {
  this.timeout(60_000);
  let pgUri: string;
  let redisUri: string;
  let dbName: string;
  let admin: ReturnType<typeof knexFactory>;

  before(async function () {
    pgUri = await requireService(this, 'postgres', async (uri) => {
      const k = knexFactory({ client: 'pg', connection: uri, pool: { min: 0, max: 1 } });
      try {
        await k.raw('select 1');
      } finally {
        await k.destroy();
      }
    });
    redisUri = await requireService(this, 'redis', async (uri) => {
      const { Redis } = await import('ioredis');
      const r = new Redis(uri, { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await r.connect();
        await r.ping();
      } finally {
        r.disconnect();
      }
    });
    admin = knexFactory({ client: 'pg', connection: pgUri, pool: { min: 0, max: 1 } });
    dbName = `nextauth_serve_${randomBytes(4).toString('hex')}`;
    await admin.raw(`create database ${dbName}`);
  });

  after(async () => {
    if (!admin) return;
    await admin.raw(`drop database if exists ${dbName} with (force)`);
    await admin.destroy();
  });

  it('refuses to start on an unmigrated database, then serves once migrated', async () => {
    const url = new URL(pgUri);
    url.pathname = `/${dbName}`;
    const [port, adminPort] = [await freePort(), await freePort()];
    const env = {
      NEXTAUTH_NS_DB_URI: url.toString(),
      NEXTAUTH_KV_URI: redisUri,
      // NS seals its virtual servers' channel keys with it; only embedded mode generates one.
      NEXTAUTH_SECRET_KEY: 'serve-test-secret-key-0123456789',
      NEXTAUTH_PORT: String(port),
      NEXTAUTH_ADMIN_PORT: String(adminPort),
      NEXTAUTH_HOST: '127.0.0.1',
      // `serve ns` calls the SFS and the MC over HTTP; nothing calls them at start.
      NEXTAUTH_SERVICE_KEY: 'serve-test-service-key-0123456789abcdef',
      NEXTAUTH_SFS_URL: 'http://127.0.0.1:9',
      NEXTAUTH_MC_URL: 'http://127.0.0.1:9',
    };
    const early = await runCli(cli, ['serve', 'ns'], env);
    expect(early.code).to.equal(1);
    expect(early.stderr).to.match(/ns database has \d+ pending migration\(s\); run `nextauth migrate`/);

    const migrated = await runCli(cli, ['migrate', '--service', 'ns'], env);
    expect(migrated.code, migrated.stderr).to.equal(0);

    const child = spawnCli(cli, ['serve', 'ns'], env);
    try {
      const ready = await waitFor(`http://127.0.0.1:${adminPort}/readyz`);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks).to.deep.equal({
        'db:ns': 'ok',
        kv: 'ok',
      });
      // The landing page belongs to embedded mode only.
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).to.equal(0);
  });
});
