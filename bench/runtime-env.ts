// What the benchmark scenarios share: a free loopback port and the environment of an embedded runtime on a
// fresh data directory (SQLite and the in-process KV, or PostgreSQL / Redis when the bench variables say so).
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface BenchRuntimeEnv {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  port: number;
}

/**
 * `NEXTAUTH_*` settings of an embedded runtime listening on a free port; NEXTAUTH_BENCH_PG_URI and
 * NEXTAUTH_BENCH_REDIS_URI move its storage to PostgreSQL and Redis (a key prefix per process).
 */
export async function benchRuntimeEnv(name: string): Promise<BenchRuntimeEnv> {
  const dataDir = await mkdtemp(join(tmpdir(), `nextauth-bench-${name}-`));
  const [port, adminPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    NEXTAUTH_DATA_DIR: dataDir,
    NEXTAUTH_PORT: String(port),
    NEXTAUTH_ADMIN_PORT: String(adminPort),
    NEXTAUTH_HOST: '127.0.0.1',
    NEXTAUTH_PUBLIC_URL: `http://127.0.0.1:${port}`,
    NEXTAUTH_LOG_LEVEL: process.env.NEXTAUTH_BENCH_LOG_LEVEL ?? 'warn',
    NEXTAUTH_LOG_FORMAT: 'json',
    NEXTAUTH_TRUST_PROXY: 'true',
  };
  const pg = process.env.NEXTAUTH_BENCH_PG_URI;
  if (pg) for (const svc of ['NS', 'SFS', 'MC', 'IDP']) env[`NEXTAUTH_${svc}_DB_URI`] = pg;
  const redis = process.env.NEXTAUTH_BENCH_REDIS_URI;
  if (redis) {
    env.NEXTAUTH_KV_URI = redis;
    env.NEXTAUTH_KV_PREFIX = `nextauth-bench-${process.pid}:`;
  }
  return { env, dataDir, port };
}

/** What the runtime stores in, for the report's header line. */
export function benchStorage(): string {
  const db = process.env.NEXTAUTH_BENCH_PG_URI ? 'PostgreSQL' : 'SQLite';
  return `${db}, KV: ${process.env.NEXTAUTH_BENCH_REDIS_URI ? 'Redis' : 'in-process'}`;
}
