// `npm run bench -- forward-auth`: authenticated forward-auth checks (a Traefik-shaped request with a live
// IdP session cookie → 200 + Remote-*) against a bare koa "hello" in the same process, each driven by 50
// keep-alive connections, in interleaved rounds (the order flips each round) so that a load swing on the
// shared machine hits both alike. Prints the medians over the rounds of the rate and the p99 latency as
// ratios to the baseline (targets: ≥ 60 % of its rate, p99 ≤ 1.5× its p99), with their range, and the CPU
// per request. Storage as bench/runtime-env.ts says (SQLite by default).
import { rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Context } from 'koa';
import Koa from 'koa';
import { loadConfig } from '../../auth-server/common/config/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { startRuntime } from '../../idp/runtime/runtime.js';
import { benchRuntimeEnv, benchStorage, freePort } from '../runtime-env.js';

const CONNECTIONS = 50;
/** Seconds of each side in each round. */
const SECONDS = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.NEXTAUTH_BENCH_ROUNDS ?? 5);
const ROOT_KEY = 'bench-forward-auth-root-key-0123456789';

interface Result {
  rate: number;
  p99: number;
  /** CPU time of this process (client and server share the thread) per request, in microseconds. */
  cpuPerRequestUs: number;
}

/** `CONNECTIONS` loops sending `headers` to `path` for `seconds`; every answer must pass `check`. */
async function load(
  port: number,
  path: string,
  headers: Record<string, string>,
  seconds: number,
  check: (status: number, headers: Record<string, unknown>) => boolean,
): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (!check(res.statusCode ?? 0, res.headers))
            reject(new Error(`unexpected HTTP ${res.statusCode}`));
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async () => {
    while (performance.now() < end) await once();
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / elapsed,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    cpuPerRequestUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function run(): Promise<void> {
  const { env, dataDir } = await benchRuntimeEnv('forward-auth');
  env.NEXTAUTH_NS_ROOT_API_KEY = ROOT_KEY;
  const config = loadConfig(env, { mode: 'embedded' });
  const runtime = await startRuntime({
    config,
    logger: createLogger({ level: env.NEXTAUTH_LOG_LEVEL ?? 'warn', format: 'json' }),
    services: ['ns', 'sfs', 'mc', 'idp'],
  });
  const baseline = new Koa();
  baseline.use((ctx) => {
    ctx.body = 'hello';
  });
  const basePort = await freePort();
  const baseServer = baseline.listen(basePort, '127.0.0.1');
  try {
    const put = await fetch(`${config.publicUrl}/ns/api/v2/servers/default/users/bench`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': ROOT_KEY },
      body: JSON.stringify({ name: 'Bench User', email: 'bench@example.org', groups: ['staff'] }),
    });
    if (!put.ok) throw new Error(`user: HTTP ${put.status}`);
    // The session as the login page would establish it after a phone login.
    let setCookie = '';
    const ctx = { cookies: { get: () => undefined }, append: (_: string, v: string) => (setCookie = v) };
    const sessions = runtime.idpSessions;
    if (!sessions) throw new Error('runtime without IdP sessions');
    await sessions.establish(ctx as unknown as Context, 'default', {
      userid: 'bench',
      accountId: 'bench-account',
      authTime: Math.floor(Date.now() / 1000),
      amr: ['swk', 'pin'],
      acr: 'urn:nextauth:phone',
    });
    const cookie = setCookie.split(';')[0] ?? '';
    const ours = {
      cookie,
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': '127.0.0.1',
      'x-forwarded-uri': '/app/page?x=1',
      accept: 'text/html',
    };
    const port = runtime.publicListener.port;
    const allowed = (status: number, h: Record<string, unknown>) =>
      status === 200 && h['remote-user'] === 'bench';
    const hello = (status: number) => status === 200;
    // Warm-up of both, then the measured rounds.
    await load(basePort, '/', {}, 1, hello);
    await load(port, '/forward-auth/default', ours, 1, allowed);
    const rounds: { base: Result; fa: Result }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const runBase = () => load(basePort, '/', {}, SECONDS, hello);
      const runFa = () => load(port, '/forward-auth/default', ours, SECONDS, allowed);
      if (round % 2 === 0) {
        const base = await runBase();
        rounds.push({ base, fa: await runFa() });
      } else {
        const fa = await runFa();
        rounds.push({ base: await runBase(), fa });
      }
    }
    const rateRatios = rounds.map((r) => r.fa.rate / r.base.rate);
    const p99Ratios = rounds.map((r) => r.fa.p99 / r.base.p99);
    const rateRatio = median(rateRatios);
    const p99Ratio = median(p99Ratios);
    const cpu = (side: 'base' | 'fa') => median(rounds.map((r) => r[side].cpuPerRequestUs));
    const cpuOver = median(rounds.map((r) => r.fa.cpuPerRequestUs - r.base.cpuPerRequestUs));
    const range = (values: number[], digits: number) =>
      `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
    console.log(
      `storage: ${benchStorage()}; ${CONNECTIONS} connections; ${ROUNDS} rounds of ${SECONDS} s each side`,
    );
    console.log(
      `load average: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    // The load generator shares the thread: the difference is what forward-auth costs beyond bare koa.
    console.log(
      `CPU per request (client + server, medians): hello ${cpu('base').toFixed(0)} µs, forward-auth ${cpu('fa').toFixed(0)} µs (${cpuOver >= 0 ? '+' : ''}${cpuOver.toFixed(0)} µs)`,
    );
    console.log(
      `rates (medians): hello ${median(rounds.map((r) => r.base.rate)).toFixed(0)}/s p99 ${median(rounds.map((r) => r.base.p99)).toFixed(1)} ms; forward-auth ${median(rounds.map((r) => r.fa.rate)).toFixed(0)}/s p99 ${median(rounds.map((r) => r.fa.p99)).toFixed(1)} ms`,
    );
    console.log(
      `authenticated checks: ${(rateRatio * 100).toFixed(0)} % of bare koa's rate (rounds ${range(
        rateRatios.map((r) => r * 100),
        0,
      )} %; target ≥ 60 %) ${rateRatio >= 0.6 ? 'ok' : 'MISSED'}`,
    );
    console.log(
      `p99 latency: ${p99Ratio.toFixed(2)}× bare koa's (rounds ${range(p99Ratios, 2)}×; target ≤ 1.5×) ${p99Ratio <= 1.5 ? 'ok' : 'MISSED'}`,
    );
  } finally {
    baseServer.close();
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
