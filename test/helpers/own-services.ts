// A Redis server and a PostgreSQL cluster of the test's own, on free loopback ports, that the test may stop
// and start again (the machine's shared services must never be restarted: other suites use them). Missing
// binaries skip the suite with a notice on a developer's machine and fail it when CI=true.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Context } from 'mocha';
import { freePort } from './http.js';
import { inCi } from './services.js';

const run = promisify(execFile);

/** Skips (or, in CI, fails) the suite when `check` throws. */
export async function requireBinary(
  ctx: Context,
  what: string,
  check: () => Promise<unknown>,
): Promise<void> {
  try {
    await check();
  } catch (err) {
    const problem = `${what} did not run: ${(err as Error).message.split('\n')[0]}`;
    if (inCi) throw new Error(`required test binary missing (CI=true): ${problem}`);
    process.stderr.write(`\n  [skipped] ${ctx.test?.parent?.fullTitle() ?? what}: ${problem}\n`);
    ctx.skip();
  }
}

const redisBinary = process.env.NEXTAUTH_TEST_REDIS_SERVER ?? 'redis-server';

export async function requireOwnRedis(ctx: Context): Promise<void> {
  await requireBinary(ctx, `redis-server (${redisBinary})`, () => run(redisBinary, ['--version']));
}

export interface OwnRedis {
  uri: string;
  /** Stops the server (SIGTERM, waiting for the exit); keys survive in its append-only file. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/** A redis-server child with an append-only file, as a production Redis keeps keys across a restart. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'nextauth-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    child = spawn(
      redisBinary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d) => {
      log = (log + String(d)).slice(-4000);
    });
    for (let i = 0; i < 200; i++) {
      if (log.includes('Ready to accept connections')) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on ${port}: ${log}`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    uri: `redis://127.0.0.1:${port}/0`,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or NEXTAUTH_TEST_PG_BIN. */
function postgresBin(): string {
  const fromEnv = process.env.NEXTAUTH_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  return newest ? join(root, newest, 'bin') : '';
}

export async function requireOwnPostgres(ctx: Context): Promise<void> {
  const bin = postgresBin();
  await requireBinary(ctx, `PostgreSQL server binaries (${bin || 'none under /usr/lib/postgresql'})`, () =>
    run(join(bin, 'initdb'), ['--version']),
  );
}

export interface OwnPostgres {
  /** Superuser `nextauth` (trust authentication on loopback), database `postgres`. */
  uri: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A throw-away cluster: initdb into a temporary directory, pg_ctl start/stop. initdb refuses to run as
 * root, so as root every command runs as the `postgres` system user (runuser), which then owns the files.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'nextauth-pg-'));
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { timeout: 60_000 })
      : run(join(bin, tool), args, { timeout: 60_000 });
  const data = join(dir, 'data');
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'nextauth', '--no-sync', '-E', 'UTF8']);
  const start = async () => {
    await pg('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  await start();
  return {
    uri: `postgres://nextauth@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
