// `npm run bench -- forward-auth`: authenticated forward-auth checks (a Traefik-shaped request with a live
// IdP session cookie → 200 + Remote-*) against a bare koa "hello" in the same process and run, each driven
// by 50 keep-alive connections. Prints the rate and the p99 latency as ratios to the baseline (targets:
// ≥ 60 % of its rate, p99 ≤ 1.5× its p99). Storage as bench/runtime-env.ts says (SQLite by default).
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
const SECONDS = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 5);
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
    // Warm-up of both, then the measured runs.
    await load(basePort, '/', {}, 1, hello);
    await load(port, '/forward-auth/default', ours, 1, allowed);
    const base = await load(basePort, '/', {}, SECONDS, hello);
    const fa = await load(port, '/forward-auth/default', ours, SECONDS, allowed);
    const rateRatio = fa.rate / base.rate;
    const p99Ratio = fa.p99 / base.p99;
    console.log(`storage: ${benchStorage()}; ${CONNECTIONS} connections, ${SECONDS} s each`);
    console.log(
      `load average: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    // The load generator shares the thread: the difference is what forward-auth costs beyond bare koa.
    console.log(
      `CPU per request (client + server): hello ${base.cpuPerRequestUs.toFixed(0)} µs, forward-auth ${fa.cpuPerRequestUs.toFixed(0)} µs (+${(fa.cpuPerRequestUs - base.cpuPerRequestUs).toFixed(0)} µs)`,
    );
    console.log(
      `rates: hello ${base.rate.toFixed(0)}/s p99 ${base.p99.toFixed(1)} ms; forward-auth ${fa.rate.toFixed(0)}/s p99 ${fa.p99.toFixed(1)} ms`,
    );
    console.log(
      `authenticated checks: ${(rateRatio * 100).toFixed(0)} % of bare koa's rate (target ≥ 60 %) ${rateRatio >= 0.6 ? 'ok' : 'MISSED'}`,
    );
    console.log(
      `p99 latency: ${p99Ratio.toFixed(2)}× bare koa's (target ≤ 1.5×) ${p99Ratio <= 1.5 ? 'ok' : 'MISSED'}`,
    );
  } finally {
    baseServer.close();
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
