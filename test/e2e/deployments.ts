// The deployments the end-to-end suites run against, as real `nextauth start` processes:
// - embedded: one process, SQLite and in-memory KV under a fresh data dir (what `npm start` runs);
// - postgres+redis: two processes on one PostgreSQL database and one Redis (random key prefix). The browser
//   talks to instance B while the phone (the public URL in QR codes) talks to instance A, so a login only
//   succeeds when state and events really cross instances.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { probeDatabase } from '../auth-server/common/db/databases.js';
import { deleteKeys, probeRedis } from '../auth-server/common/kv/redis-service.js';
import { exited, spawnCli, waitFor } from '../helpers/cli.js';
import { freePort } from '../helpers/http.js';
import { requireService } from '../helpers/services.js';

export const nextauthCli = 'idp/admin/cli/main.ts';

export type DeploymentKind = 'embedded' | 'postgres+redis';

export interface Deployment {
  kind: DeploymentKind;
  /** Where the browser goes (instance B when there are two). */
  browserUrl: string;
  /** The public URL: in QR codes and enrol links, used by the phone and the admin CLI (instance A). */
  phoneUrl: string;
  /** Environment for `nextauth` commands against this deployment (data dir with the root API key). */
  env: Record<string, string>;
}

interface Running extends Deployment {
  stop(): Promise<void>;
}

/** One `nextauth start` process; `port` when the public URL must name it before the process starts. */
async function startInstance(
  env: Record<string, string>,
  port?: number,
): Promise<{ child: ChildProcess; url: string }> {
  const publicPort = port ?? (await freePort());
  const adminPort = await freePort();
  const child = spawnCli(nextauthCli, ['start'], {
    ...env,
    NEXTAUTH_PORT: String(publicPort),
    NEXTAUTH_ADMIN_PORT: String(adminPort),
    NEXTAUTH_HOST: '127.0.0.1',
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  try {
    await waitFor(`http://127.0.0.1:${adminPort}/readyz`, 200, 30_000);
  } catch (err) {
    await stopInstance(child);
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { child, url: `http://127.0.0.1:${publicPort}` };
}

async function stopInstance(child: ChildProcess | undefined): Promise<void> {
  if (!child) return;
  child.kill('SIGTERM');
  await exited(child);
}

async function startEmbedded(extra: Record<string, string>): Promise<Running> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...extra, NEXTAUTH_DATA_DIR: dataDir, NEXTAUTH_PUBLIC_URL: url };
  let child: ChildProcess;
  try {
    ({ child } = await startInstance(env, port));
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: 'embedded',
    browserUrl: url,
    phoneUrl: url,
    env,
    async stop() {
      await stopInstance(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function startPostgresRedis(
  pgUri: string,
  redisUri: string,
  extra: Record<string, string>,
): Promise<Running> {
  const suffix = randomBytes(4).toString('hex');
  const dbName = `nextauth_e2e_${suffix}`;
  const kvPrefix = `e2e-${suffix}:`;
  const admin: Knex = knexFactory({ client: 'pg', connection: pgUri, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${dbName}`);
  const db = new URL(pgUri);
  db.pathname = `/${dbName}`;
  // Both instances share the data dir only for the generated secrets (root API key, secret key, PIN
  // pepper, SDK-config publisher key), as a deployment shares them through its secret store.
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-e2e-'));
  const portA = await freePort();
  const publicUrl = `http://127.0.0.1:${portA}`;
  const env: Record<string, string> = {
    ...extra,
    NEXTAUTH_DATA_DIR: dataDir,
    NEXTAUTH_PUBLIC_URL: publicUrl,
    NEXTAUTH_KV_URI: redisUri,
    NEXTAUTH_KV_PREFIX: kvPrefix,
    ...Object.fromEntries(['NS', 'SFS', 'MC', 'IDP'].map((svc) => [`NEXTAUTH_${svc}_DB_URI`, db.toString()])),
  };
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopInstance));
    await admin.raw(`drop database if exists ${dbName} with (force)`);
    await admin.destroy();
    await deleteKeys(redisUri, kvPrefix);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // A first, alone: it migrates the database and creates the default server; B then starts on it.
    const a = await startInstance(env, portA);
    children.push(a.child);
    const b = await startInstance(env);
    children.push(b.child);
    return { kind: 'postgres+redis', browserUrl: b.url, phoneUrl: publicUrl, env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Declares `describe(title [kind])` once per deployment; `body` reads the running deployment through
 * `deployment()`. The PostgreSQL + Redis run is skipped without those services, and fails under CI=true.
 * `options.env` adds settings to every instance (e.g. NEXTAUTH_OUTBOUND_ALLOW).
 */
export function describeEachDeployment(
  title: string,
  body: (deployment: () => Deployment) => void,
  options: { env?: Record<string, string> } = {},
): void {
  const extra = options.env ?? {};
  for (const kind of ['embedded', 'postgres+redis'] as const) {
    describe(`${title} [${kind}]`, function () {
      this.timeout(120_000);
      let running: Running | undefined;

      before(async function () {
        if (kind === 'embedded') {
          running = await startEmbedded(extra);
        } else {
          const pg = await requireService(this, 'postgres', probeDatabase);
          const redis = await requireService(this, 'redis', probeRedis);
          running = await startPostgresRedis(pg, redis, extra);
        }
      });

      body(() => {
        if (!running) throw new Error('deployment not started');
        return running;
      });

      // Registered after the body, so the body's own `after` hooks still find the deployment running.
      after(async () => {
        await running?.stop();
      });
    });
  }
}
