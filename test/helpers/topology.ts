// The distributed topology of the system tests (and `npm run bench -- scale`): N `nextauth serve` processes
// per service (IdP, NS, SFS, MC) on PostgreSQL or MariaDB (a database per service and run) and Redis (a key
// prefix per run), behind a real haproxy from Debian on loopback ports.
//
// haproxy has three frontends, all routing by path (/ns/, /sfs/, /mc/, the rest to the IdP) and checking
// every instance's readiness (/readyz on its admin port):
// - `public` (NEXTAUTH_PUBLIC_URL, what QR codes and peers use): round-robin over the instances;
// - `a`: instance 1 of every service (instance 2 only as a backup when 1 is down);
// - `b`: instance 2 (1 as the backup).
// A test pins the phone to `a` and the browser to `b`, so a login only succeeds when it crosses instances.
// Every answer carries `x-served-by: <svc><n>` (the haproxy server that answered).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import type { Context } from 'mocha';
import { openDb } from '../../auth-server/common/db/connect.js';
import { loadOrCreateMcIdentity } from '../../auth-server/mc/keys/identity-key.js';
import { generatePublisherKey } from '../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../idp/admin/sdk-config/sign.js';
import type { PublicJwk } from '../../protocol/index.js';
import { deleteKeys } from '../auth-server/common/kv/redis-service.js';
import { exited, spawnCli, waitFor } from './cli.js';
import { freePort } from './http.js';
import { requireBinary } from './own-services.js';

export const cli = 'idp/admin/cli/main.ts';
export const services = ['sfs', 'mc', 'ns', 'idp'] as const;
export type Svc = (typeof services)[number];

const haproxyBinary = process.env.NEXTAUTH_TEST_HAPROXY ?? '/usr/sbin/haproxy';

export async function requireHaproxy(ctx: Context): Promise<void> {
  await requireBinary(ctx, `haproxy (${haproxyBinary})`, () =>
    promisify(execFile)(haproxyBinary, ['-v'], { timeout: 10_000 }),
  );
}

export interface TopologyOptions {
  /** A server URI of an account that may create databases (postgres:// or mysql://). */
  dbUri: string;
  redisUri: string;
  /** Instances per service (default 2 of each). */
  instances?: number | Partial<Record<Svc, number>>;
  /** More settings for every instance. */
  env?: Record<string, string>;
}

export interface Instance {
  svc: Svc;
  /** 1-based, as in haproxy's server names (`ns1`). */
  n: number;
  port: number;
  adminPort: number;
  url: string;
  readyz: string;
  child: ChildProcess | undefined;
  /** The instance's stderr so far (for failure messages). */
  log(): string;
}

export interface Topology {
  /** NEXTAUTH_PUBLIC_URL: haproxy's round-robin frontend. */
  publicUrl: string;
  /** haproxy frontends preferring instance 1 (`a`) and instance 2 (`b`). */
  pinned: { a: string; b: string };
  instances: Record<Svc, Instance[]>;
  serviceKey: string;
  rootKey: string;
  secretKey: string;
  kvPrefix: string;
  dbUri(svc: Svc): string;
  /** Sends `signal` to an instance and waits for it to exit; returns its exit code (null when killed). */
  signal(instance: Instance, signal: NodeJS.Signals): Promise<number | null>;
  /** Starts a stopped instance again on its ports and waits until it is ready. */
  restart(instance: Instance): Promise<void>;
  /** haproxy's own output (for failure messages). */
  proxyLog(): string;
  /** Stops everything, drops the databases and the Redis keys; resolves to the instances' exit codes. */
  stop(): Promise<(number | null)[]>;
}

const dialectOf = (uri: string): 'pg' | 'mysql' => (/^postgres(ql)?:/i.test(uri) ? 'pg' : 'mysql');

function haproxyConfig(
  ports: { public: number; a: number; b: number },
  instances: Record<Svc, Instance[]>,
): string {
  const routes = (suffix: string) => [
    `  use_backend ns_${suffix} if { path_beg /ns/ }`,
    `  use_backend sfs_${suffix} if { path_beg /sfs/ }`,
    `  use_backend mc_${suffix} if { path_beg /mc/ }`,
    `  default_backend idp_${suffix}`,
  ];
  const frontend = (name: string, port: number, suffix: string) => [
    `frontend ${name}`,
    `  bind 127.0.0.1:${port}`,
    '  option forwardfor',
    '  http-response set-header x-served-by %[srv_name]',
    ...routes(suffix),
  ];
  const server = (i: Instance, backup: boolean) =>
    `  server ${i.svc}${i.n} 127.0.0.1:${i.port} check port ${i.adminPort}${backup ? ' backup' : ''}`;
  const backends = services.flatMap((svc) => {
    const list = instances[svc];
    const [first, second] = list;
    const pin = (name: string, preferred: Instance | undefined, other: Instance | undefined) => [
      `backend ${svc}_${name}`,
      ...(preferred ? [server(preferred, false)] : []),
      ...(other && other !== preferred ? [server(other, true)] : []),
    ];
    return [
      `backend ${svc}_lb`,
      '  balance roundrobin',
      ...list.map((i) => server(i, false)),
      ...pin('a', first, second),
      ...pin('b', second ?? first, first),
    ];
  });
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  timeout tunnel 120s',
    // A request that never reached an instance (it just died) goes to another one.
    '  retries 3',
    '  option redispatch',
    '  retry-on conn-failure',
    '  option httpchk GET /readyz',
    // Two failed checks in a row: one slow answer on a loaded machine must not take an instance out.
    '  timeout check 3s',
    '  default-server inter 400 fall 2 rise 1',
    ...frontend('public', ports.public, 'lb'),
    ...frontend('a', ports.a, 'a'),
    ...frontend('b', ports.b, 'b'),
    ...backends,
    '',
  ].join('\n');
}

export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const countOf = (svc: Svc) =>
    typeof options.instances === 'number' ? options.instances : (options.instances?.[svc] ?? 2);
  const count = Math.max(...services.map(countOf));
  const run = `nextauth_topo_${randomBytes(4).toString('hex')}`;
  const dialect = dialectOf(options.dbUri);
  const admin: Knex = openDb({ uri: options.dbUri, dataDir: tmpdir(), service: 'ns', pool: { max: 1 } });
  const dbUri = (svc: Svc) => {
    const u = new URL(options.dbUri);
    u.pathname = `/${run}_${svc}`;
    return u.toString();
  };
  const ports = { public: await freePort(), a: await freePort(), b: await freePort() };
  const publicUrl = `http://127.0.0.1:${ports.public}`;
  const serviceKey = `topo-${randomBytes(24).toString('hex')}`;
  const rootKey = `root-${randomBytes(16).toString('hex')}`;
  const secretKey = `topology-secret-${randomBytes(16).toString('hex')}`;
  const kvPrefix = `${run}:`;
  const common: Record<string, string> = {
    NEXTAUTH_PUBLIC_URL: publicUrl,
    NEXTAUTH_HOST: '127.0.0.1',
    NEXTAUTH_TRUST_PROXY: 'true',
    NEXTAUTH_KV_URI: options.redisUri,
    NEXTAUTH_KV_PREFIX: kvPrefix,
    NEXTAUTH_SERVICE_KEY: serviceKey,
    NEXTAUTH_NS_ROOT_API_KEY: rootKey,
    NEXTAUTH_SECRET_KEY: secretKey,
    NEXTAUTH_SFS_PIN_PEPPER: `topology-pepper-${randomBytes(16).toString('hex')}`,
    // Peers are reached through the proxy, as in docker/compose.yaml through the service names.
    NEXTAUTH_NS_URL: publicUrl,
    NEXTAUTH_SFS_URL: publicUrl,
    NEXTAUTH_MC_URL: publicUrl,
    ...options.env,
  };
  const instances = {} as Record<Svc, Instance[]>;
  for (const svc of services) {
    instances[svc] = [];
    for (let n = 1; n <= countOf(svc); n++) {
      const port = await freePort();
      const adminPort = await freePort();
      instances[svc].push({
        svc,
        n,
        port,
        adminPort,
        url: `http://127.0.0.1:${port}`,
        readyz: `http://127.0.0.1:${adminPort}/readyz`,
        child: undefined,
        log: () => '',
      });
    }
  }
  const all = () => services.flatMap((svc) => instances[svc]);

  const spawnInstance = (i: Instance) => {
    const upper = i.svc.toUpperCase();
    const child = spawnCli(cli, ['serve', i.svc], {
      ...common,
      [`NEXTAUTH_${upper}_DB_URI`]: dbUri(i.svc),
      [`NEXTAUTH_${upper}_DB_ENABLE_MIGRATIONS`]: 'true',
      NEXTAUTH_PORT: String(i.port),
      NEXTAUTH_ADMIN_PORT: String(i.adminPort),
    });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
    });
    child.stdout?.resume();
    i.child = child;
    i.log = () => log;
  };
  const ready = async (i: Instance) => {
    try {
      await waitFor(i.readyz, 200, 90_000);
    } catch (err) {
      throw new Error(`${i.svc}${i.n}: ${(err as Error).message}\n${i.log()}`);
    }
  };

  let proxy: ChildProcess | undefined;
  let proxyDir: string | undefined;
  let proxyOutput = '';
  const stop = async () => {
    const codes = await Promise.all(
      all().map(async (i) => {
        const c = i.child;
        if (!c) return null;
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
        return exited(c);
      }),
    );
    if (proxy && proxy.exitCode === null) {
      const gone = exited(proxy);
      proxy.kill('SIGTERM');
      await gone;
    }
    if (proxyDir) await rm(proxyDir, { recursive: true, force: true });
    for (const svc of services) {
      await admin.raw(
        dialect === 'pg'
          ? `drop database if exists ${run}_${svc} with (force)`
          : `drop database if exists ${run}_${svc}`,
      );
    }
    await admin.destroy();
    await deleteKeys(options.redisUri, kvPrefix).catch(() => {});
    return codes;
  };

  try {
    for (const svc of services) await admin.raw(`create database ${run}_${svc}`);
    // Instance 1 of every service first (it migrates its database), then the others on migrated databases.
    for (let n = 1; n <= count; n++) {
      const wave = all().filter((i) => i.n === n);
      for (const i of wave) spawnInstance(i);
      await Promise.all(wave.map(ready));
    }
    proxyDir = await mkdtemp(join(tmpdir(), 'nextauth-haproxy-'));
    const configFile = join(proxyDir, 'haproxy.cfg');
    await writeFile(configFile, haproxyConfig(ports, instances));
    proxy = spawn(haproxyBinary, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => {
      proxyOutput = (proxyOutput + d.toString()).slice(-8000);
    };
    proxy.stdout?.on('data', collect);
    proxy.stderr?.on('data', collect);
    for (const port of Object.values(ports)) {
      try {
        await waitFor(`http://127.0.0.1:${port}/ns/servers/none/branding`, 404, 20_000);
      } catch (err) {
        throw new Error(`haproxy: ${(err as Error).message}\n${proxyOutput}`);
      }
    }
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }

  return {
    publicUrl,
    pinned: { a: `http://127.0.0.1:${ports.a}`, b: `http://127.0.0.1:${ports.b}` },
    instances,
    serviceKey,
    rootKey,
    secretKey,
    kvPrefix,
    dbUri,
    async signal(instance, signal) {
      const c = instance.child;
      if (!c) return null;
      const code = exited(c);
      c.kill(signal);
      return code;
    },
    async restart(instance) {
      spawnInstance(instance);
      await ready(instance);
    },
    proxyLog: () => proxyOutput,
    stop,
  };
}

/**
 * The signed SDK configuration a phone of this deployment uses: the SFS key as the SFS serves it to peers,
 * the MC's channel key from the MC database, signed by a fresh publisher key.
 */
export async function topologySdkConfig(
  topology: Topology,
): Promise<{ config: string; publisherKey: PublicJwk }> {
  const res = await fetch(`${topology.publicUrl}/sfs/internal/v1/publicKeys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-nextauth-service-key': topology.serviceKey },
    body: '[]',
  });
  if (res.status !== 200) throw new Error(`sfs publicKeys: HTTP ${res.status}`);
  const [sfsKey] = ((await res.json()) as { result: (PublicJwk & Record<string, unknown>)[] }).result;
  if (!sfsKey) throw new Error('sfs publicKeys: none');
  const mcDb = openDb({ uri: topology.dbUri('mc'), dataDir: tmpdir(), service: 'mc', pool: { max: 1 } });
  let mcKey: PublicJwk;
  try {
    mcKey = (await loadOrCreateMcIdentity(mcDb, topology.secretKey, { now: () => Date.now() })).publicJwk;
  } finally {
    await mcDb.destroy();
  }
  const publisher = await generatePublisherKey();
  const ws = topology.publicUrl.replace(/^http/, 'ws');
  const config = await signSdkConfig(
    {
      v: 1,
      app: { id: 'nextauth-topology-test', name: 'Topology test' },
      sfs: { url: `${ws}/sfs/mobile`, key: { kty: 'EC', crv: 'P-256', x: sfsKey.x, y: sfsKey.y } },
      mc: { url: `${ws}/mc/mobile`, key: mcKey },
      issuedAt: Math.floor(Date.now() / 1000),
    },
    publisher,
  );
  return { config, publisherKey: publisher.publicJwk };
}
