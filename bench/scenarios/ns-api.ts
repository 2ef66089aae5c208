// `npm run bench -- ns-api`: NS REST v2 read rates against the real embedded runtime (NS + SFS + MC + IdP in
// this process, SQLite and the in-process KV unless NEXTAUTH_BENCH_PG_URI / NEXTAUTH_BENCH_REDIS_URI are set):
// getSession (`GET /ns/api/v2/session` with X-apikey + X-nonce) and the user list (`GET …/users?limit=100`,
// first page and a page deep into 10,000 users by its marker).
// Baseline, measured in the same run right before each target round: a koa app on the runtime's thread that
// answers every GET with a small JSON body ("hello"), over the same keep-alive HTTP client. Rounds alternate
// baseline and target (a noisy shared machine moves both alike); the figures are medians over the rounds.
// The load generator runs in a worker thread of this process, so the runtime's event loop carries only
// server work, and the runtime thread's CPU per request is read from /proc for baseline and target alike.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Koa from 'koa';
import { loadConfig } from '../../auth-server/common/config/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../idp/runtime/runtime.js';
import { benchRuntimeEnv, benchStorage } from '../runtime-env.js';

const WORKER_TAG = 'ns-api-load-generator';
const now = () => performance.now();
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

// ---------------------------------------------------------------------------------------------------------
// Load generator (worker thread): keep-alive GETs, `concurrency` in flight, for `seconds`.

/** One kind of request; `variants` are cycled through (e.g. one getSession per stored nonce). */
interface Target {
  port: number;
  path: string;
  variants: Record<string, string>[];
  /** The answer must have this status, or the request counts as failed. */
  status: number;
}

interface LoopResult {
  count: number;
  errors: number;
  firstError?: string;
  seconds: number;
  latencies: number[];
}

function hammer(target: Target, concurrency: number, seconds: number): Promise<LoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoopResult = { count: 0, errors: 0, seconds: 0, latencies: [] };
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const headers = target.variants[next++ % target.variants.length] ?? {};
      const t0 = now();
      const fail = (why: string) => {
        result.errors++;
        result.firstError ??= why;
        resolve();
      };
      const req = request(
        { host: '127.0.0.1', port: target.port, path: target.path, headers, agent },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => {
            if (res.statusCode !== target.status) return fail(`HTTP ${res.statusCode} ${body.slice(0, 200)}`);
            result.latencies.push(now() - t0);
            result.count++;
            resolve();
          });
          res.on('error', (e) => fail(e.message));
        },
      );
      req.on('error', (e) => fail(e.message));
      req.end();
    });
  const start = now();
  const deadline = start + seconds * 1000;
  return Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < deadline) await one();
    }),
  ).then(() => {
    result.seconds = (now() - start) / 1000;
    agent.destroy();
    return result;
  });
}

if (!isMainThread && (workerData as { tag?: string } | null)?.tag === WORKER_TAG) {
  parentPort?.on('message', (msg: { id: number; target: Target; concurrency: number; seconds: number }) => {
    hammer(msg.target, msg.concurrency, msg.seconds).then(
      (result) => parentPort?.postMessage({ id: msg.id, result }),
      (err: unknown) =>
        parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/** The load generator in a worker thread (tsx is registered there first). */
function startLoadWorker() {
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { tag: WORKER_TAG } });
  const pending = new Map<number, { resolve: (r: LoopResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on('message', (msg: { id: number; result?: LoopResult; error?: string }) => {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined || !msg.result) p?.reject(new Error(msg.error));
    else p?.resolve(msg.result);
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  return {
    run: (target: Target, concurrency: number, seconds: number) =>
      new Promise<LoopResult>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, target, concurrency, seconds });
      }),
    close: () => worker.terminate(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Server side (main thread): the runtime, the koa baseline, set-up and the figures.

/** The baseline: koa with one middleware answering a small JSON body, on the runtime's thread. */
async function startHello() {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { hello: 'world' };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** CPU milliseconds of this (the runtime's) thread so far: Linux /proc, else undefined. */
function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of proc(5)), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

interface Measured {
  rate: number;
  p50: number;
  p99: number;
  count: number;
  errors: number;
  /** Runtime thread CPU milliseconds per request (Linux; else its event-loop busy time). */
  cpuMsPerOp: number;
}

async function measure(task: () => Promise<LoopResult>): Promise<Measured> {
  const elu0 = performance.eventLoopUtilization();
  const thread0 = threadCpuMs();
  const r = await task();
  const elu = performance.eventLoopUtilization(elu0);
  const thread1 = threadCpuMs();
  const threadMs = thread0 !== undefined && thread1 !== undefined ? thread1 - thread0 : elu.active;
  if (r.errors > 0) console.warn(`  ${r.errors} failed; first: ${r.firstError}`);
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
  return {
    rate: r.count / r.seconds,
    p50: at(0.5),
    p99: at(0.99),
    count: r.count,
    errors: r.errors,
    cpuMsPerOp: threadMs / Math.max(1, r.count),
  };
}

async function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** 10,000 users with a name, an email, two attributes and a group each, written in batches (not measured). */
async function seedUsers(runtime: Runtime, count: number): Promise<void> {
  const db = runtime.dbs.ns;
  if (!db) throw new Error('the runtime has no NS database');
  const server = (await db('ns_virtual_servers').where({ name: 'default' }).first()) as { id: string };
  const t = Date.now();
  // Unique per run: a PostgreSQL database (NEXTAUTH_BENCH_PG_URI) keeps the users of earlier runs.
  const tag = t.toString(36);
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const ids = Array.from({ length: Math.min(batch, count - i) }, (_, j) => i + j);
    const id = (n: number) => `bu${tag}${String(n).padStart(30 - tag.length, '0')}`;
    await db.transaction(async (trx) => {
      await trx('ns_users').insert(
        ids.map((n) => ({
          id: id(n),
          server_id: server.id,
          userid: `user-${tag}-${String(n).padStart(5, '0')}`,
          name: `User ${n}`,
          email: `user-${n}@example.org`,
          created_at: t + n,
          updated_at: t + n,
        })),
      );
      await trx('ns_user_attributes').insert(
        ids.flatMap((n) => [
          { user_id: id(n), server_id: server.id, name: 'department', value: `dept-${n % 20}` },
          { user_id: id(n), server_id: server.id, name: 'employee_no', value: String(100000 + n) },
        ]),
      );
      await trx('ns_user_groups').insert(
        ids.map((n) => ({ user_id: id(n), server_id: server.id, group_name: `group-${n % 10}` })),
      );
    });
  }
}

export async function run(): Promise<void> {
  const concurrency = Number(process.env.NEXTAUTH_BENCH_CONCURRENCY ?? 10);
  const seconds = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 2);
  const rounds = Number(process.env.NEXTAUTH_BENCH_ROUNDS ?? 5);
  const userCount = Number(process.env.NEXTAUTH_BENCH_USERS ?? 10_000);
  const sessionCount = 1000;
  const { env, dataDir, port } = await benchRuntimeEnv('ns-api');
  const config = loadConfig(env, { mode: 'embedded' });
  const hello = await startHello();
  const load = startLoadWorker();
  let runtime: Runtime | undefined;
  try {
    runtime = await startRuntime({
      config,
      logger: createLogger({ ...config.log, name: 'bench' }),
      services: ['ns', 'sfs', 'mc', 'idp'],
    });
    const root = { 'x-apikey': (await readFile(join(dataDir, 'root-api-key'), 'utf8')).trim() };

    // Set-up (not measured): a server key as an integrator's backend would hold, sessions, users.
    const created = await call(port, 'POST', '/ns/api/v2/servers/default/apikeys', root, {
      name: 'bench backend',
      roles: ['sessions', 'users'],
    });
    if (created.status !== 201) throw new Error(`create API key: HTTP ${created.status}`);
    const apiKey = String(created.json.key);
    const nonces: string[] = [];
    for (let i = 0; i < sessionCount; i++) {
      // Its own client address per 500 sessions: the 600-a-minute limit per key and address stays on.
      const s = await call(
        port,
        'POST',
        '/ns/api/v2/session',
        { 'x-apikey': apiKey, 'x-forwarded-for': `10.9.${Math.floor(i / 500)}.1` },
        { server: 'default' },
      );
      if (s.status !== 201) throw new Error(`create session: HTTP ${s.status}`);
      nonces.push(String(s.json.nonce));
    }
    await seedUsers(runtime, userCount);
    const usersPath = '/ns/api/v2/servers/default/users';
    // The marker of the page 100 users before the end, walked to with the largest pages.
    let marker: string | null = null;
    for (let seen = 0; seen < userCount - 100; ) {
      const step = Math.min(1000, userCount - 100 - seen);
      const q = `?limit=${step}${marker ? `&marker=${marker}` : ''}`;
      const page = await call(port, 'GET', `${usersPath}${q}`, { 'x-apikey': apiKey });
      if (page.status !== 200) throw new Error(`walk users: HTTP ${page.status}`);
      marker = page.json.next_marker as string | null;
      seen += step;
      if (!marker) break;
    }
    const key = { 'x-apikey': apiKey };
    const targets: { name: string; target: Target }[] = [
      {
        name: 'getSession',
        target: {
          port,
          path: '/ns/api/v2/session',
          variants: nonces.map((n) => ({ ...key, 'x-nonce': n })),
          status: 200,
        },
      },
      {
        name: 'users, first page (limit=100)',
        target: { port, path: `${usersPath}?limit=100`, variants: [key], status: 200 },
      },
      {
        name: `users, page ${Math.ceil(userCount / 100)} by marker (limit=100)`,
        target: { port, path: `${usersPath}?limit=100&marker=${marker}`, variants: [key], status: 200 },
      },
    ];
    const base: Target = { port: hello.port, path: '/', variants: [{}], status: 200 };

    console.log(
      `storage: ${benchStorage()}; ${userCount} users,` +
        ` ${sessionCount} sessions; concurrency ${concurrency}, ${rounds} rounds of ${seconds} s per target,` +
        ' each right after a koa hello round | load generator: worker thread',
    );
    // Warm-up: JIT, SQLite page cache, sockets.
    for (const { target } of targets) await load.run(target, concurrency, 1);
    await load.run(base, concurrency, 1);

    const results = targets.map(() => ({ base: [] as Measured[], target: [] as Measured[] }));
    for (let r = 0; r < rounds; r++) {
      for (const [i, { target }] of targets.entries()) {
        results[i]?.base.push(await measure(() => load.run(base, concurrency, seconds)));
        results[i]?.target.push(await measure(() => load.run(target, concurrency, seconds)));
      }
    }
    const profileDir = process.env.NEXTAUTH_BENCH_CPU_PROFILE;
    if (profileDir) {
      // One more round per target under the inspector's profiler: the runtime thread only, no set-up.
      await mkdir(profileDir, { recursive: true });
      const inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      for (const [i, { target }] of targets.entries()) {
        await inspector.post('Profiler.start');
        await load.run(target, concurrency, seconds);
        const { profile } = await inspector.post('Profiler.stop');
        await writeFile(join(profileDir, `ns-api-${i + 1}.cpuprofile`), JSON.stringify(profile));
      }
      inspector.disconnect();
      console.log(
        `CPU profiles of the runtime thread, one per target: ${profileDir}/ns-api-{1..3}.cpuprofile`,
      );
    }

    console.log('medians over the rounds: req/s (p50 / p99 ms) | runtime thread CPU per request');
    for (const [i, { name }] of targets.entries()) {
      const { base: b, target: t } = results[i] as { base: Measured[]; target: Measured[] };
      const ratio = median(t.map((m, k) => m.rate / (b[k] as Measured).rate));
      const cpuRatio = median(t.map((m, k) => m.cpuMsPerOp / (b[k] as Measured).cpuMsPerOp));
      const errors = t.reduce((n, m) => n + m.errors, 0);
      const row = (ms: Measured[]) =>
        `${fmt(median(ms.map((m) => m.rate)))} req/s (${median(ms.map((m) => m.p50)).toFixed(2)} / ` +
        `${median(ms.map((m) => m.p99)).toFixed(2)} ms) | ${median(ms.map((m) => m.cpuMsPerOp)).toFixed(3)} ms CPU`;
      console.log(`  ${name}${errors ? ` (${errors} failed)` : ''}`);
      console.log(`    koa hello : ${row(b)}`);
      console.log(`    target    : ${row(t)}`);
      console.log(
        `    ratio req/s target/hello ${ratio.toFixed(3)} (1 request ≈ ${fmt(1 / ratio)} hellos);` +
          ` CPU per request target/hello ${fmt(cpuRatio)}×`,
      );
    }
  } finally {
    await load.close();
    await runtime?.close();
    await hello.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
