// Distributed mode, first slice: IdP, NS, SFS and MC as four `nextauth serve` processes on PostgreSQL (one
// database per service and run) and Redis (a prefix per run), reaching each other only over HTTP with the
// service key. Not yet here (docs/decisions.md): a QR login with the SDK phone through this topology.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import { exited, runCli, spawnCli, waitFor } from '../helpers/cli.js';
import { freePort } from '../helpers/http.js';
import { requireService } from '../helpers/services.js';

const cli = 'idp/admin/cli/main.ts';
const services = ['sfs', 'mc', 'ns', 'idp'] as const;
type Svc = (typeof services)[number];
const serviceKey = `dist-${randomBytes(24).toString('hex')}`;
const rootKey = `root-${randomBytes(16).toString('hex')}`;

describe('e2e: distributed mode (four `serve` processes, PostgreSQL + Redis)', function () {
  this.timeout(180_000);
  const run = `nextauth_dist_${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const ports = {} as Record<Svc, { port: number; admin: number }>;
  let admin: ReturnType<typeof knexFactory> | undefined;
  let sfsDbUri = '';
  const url = (svc: Svc) => `http://127.0.0.1:${ports[svc].port}`;

  before(async function () {
    const pgUri = await requireService(this, 'postgres', async (uri) => {
      const k = knexFactory({ client: 'pg', connection: uri, pool: { min: 0, max: 1 } });
      try {
        await k.raw('select 1');
      } finally {
        await k.destroy();
      }
    });
    const redisUri = await requireService(this, 'redis', async (uri) => {
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
    for (const svc of services) {
      await admin.raw(`create database ${run}_${svc}`);
      ports[svc] = { port: await freePort(), admin: await freePort() };
    }
    const dbUri = (svc: Svc) => {
      const u = new URL(pgUri);
      u.pathname = `/${run}_${svc}`;
      return u.toString();
    };
    sfsDbUri = dbUri('sfs');
    const common = {
      NEXTAUTH_PUBLIC_URL: url('idp'),
      NEXTAUTH_HOST: '127.0.0.1',
      NEXTAUTH_KV_URI: redisUri,
      NEXTAUTH_KV_PREFIX: `${run}:`,
      NEXTAUTH_SERVICE_KEY: serviceKey,
      NEXTAUTH_NS_ROOT_API_KEY: rootKey,
      NEXTAUTH_SECRET_KEY: 'distributed-test-secret-key-0123456789',
      NEXTAUTH_SFS_PIN_PEPPER: 'distributed-test-pin-pepper-0123456789',
      NEXTAUTH_NS_URL: url('ns'),
      NEXTAUTH_SFS_URL: url('sfs'),
      NEXTAUTH_MC_URL: url('mc'),
    };
    for (const svc of services) {
      const upper = svc.toUpperCase();
      children.push(
        spawnCli(cli, ['serve', svc], {
          ...common,
          [`NEXTAUTH_${upper}_DB_URI`]: dbUri(svc),
          [`NEXTAUTH_${upper}_DB_ENABLE_MIGRATIONS`]: 'true',
          NEXTAUTH_PORT: String(ports[svc].port),
          NEXTAUTH_ADMIN_PORT: String(ports[svc].admin),
        }),
      );
    }
    for (const svc of services) await waitFor(`http://127.0.0.1:${ports[svc].admin}/readyz`, 200, 60_000);
  });

  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    const codes = await Promise.all(children.map((c) => exited(c)));
    if (admin) {
      for (const svc of services) await admin.raw(`drop database if exists ${run}_${svc} with (force)`);
      await admin.destroy();
    }
    expect(codes).to.deep.equal(children.map(() => 0));
  });

  it('creates a virtual server at NS (registered at the SFS over HTTP) and serves its OIDC discovery at the IdP (NS over HTTP)', async () => {
    const created = await runCli(
      cli,
      ['server', 'create', 'dist', '--display-name', 'Dist', '--url', url('ns'), '--json'],
      {
        NEXTAUTH_NS_ROOT_API_KEY: rootKey,
      },
    );
    expect(created.code, created.stderr).to.equal(0);
    // NS registered the server with its PIN policy in the SFS's own database, through the SFS peer over HTTP.
    const sfsDb = knexFactory({ client: 'pg', connection: sfsDbUri, pool: { min: 0, max: 1 } });
    try {
      const rows = await sfsDb('sfs_ns_servers').where({ id: `${url('idp')}/ns/dist` });
      expect(rows).to.have.length(1);
    } finally {
      await sfsDb.destroy();
    }
    const discovery = await fetch(`${url('idp')}/oidc/dist/.well-known/openid-configuration`);
    expect(discovery.status).to.equal(200);
    expect(((await discovery.json()) as { issuer: string }).issuer).to.equal(`${url('idp')}/oidc/dist`);
    const unknown = await fetch(`${url('idp')}/oidc/nope/.well-known/openid-configuration`);
    expect(unknown.status).to.equal(404);
  });

  it('the IdP management API checks keys at NS over HTTP', async () => {
    const path = `${url('idp')}/idp/api/v1/servers/dist/oidc/clients`;
    expect((await fetch(path, { headers: { 'x-apikey': rootKey } })).status).to.equal(200);
    expect((await fetch(path, { headers: { 'x-apikey': 'w'.repeat(40) } })).status).to.equal(401);
  });

  it('internal endpoints of every service refuse a missing or wrong key', async () => {
    for (const [svc, method] of [
      ['ns', 'findServer'],
      ['sfs', 'publicKeys'],
      ['mc', 'recipient'],
    ] as const) {
      for (const key of [undefined, 'w'.repeat(40)]) {
        const res = await fetch(`${url(svc)}/${svc}/internal/v1/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { 'x-nextauth-service-key': key } : {}) },
          body: '[]',
        });
        expect(res.status, `${svc} ${key ? 'wrong' : 'missing'}`).to.equal(401);
      }
    }
    const ok = await fetch(`${url('mc')}/mc/internal/v1/recipient`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nextauth-service-key': serviceKey },
      body: JSON.stringify([{ instanceId: 'no-such-instance' }]),
    });
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({});
  });
});
