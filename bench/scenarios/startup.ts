// Embedded start-up: spawn `nextauth start` (compiled) until /readyz answers 200, against the same measure
// for a bare Node HTTP server started from a one-line script (the floor any Node service pays).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../runtime-env.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const runs = 7;

async function timeToReady(args: string[], env: NodeJS.ProcessEnv, url: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now() - started;
      if (performance.now() - started > 20_000) throw new Error(`${url} not ready after 20 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function run(): Promise<void> {
  const baseline: number[] = [];
  const product: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const bare = `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`;
    baseline.push(await timeToReady(['-e', bare], process.env, `http://127.0.0.1:${port}/`));
    const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-bench-'));
    const [p, a] = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PORT: String(p),
      NEXTAUTH_ADMIN_PORT: String(a),
      NEXTAUTH_LOG_LEVEL: 'warn',
    };
    // Alternate first runs (fresh data dir, migrations) are what a newcomer sees; later starts reuse it.
    product.push(
      await timeToReady(['dist/idp/admin/cli/main.js', 'start'], env, `http://127.0.0.1:${a}/readyz`),
    );
    await rm(dataDir, { recursive: true, force: true });
  }
  const b = median(baseline);
  const s = median(product);
  console.log(`bare node http server ready: median ${b.toFixed(0)} ms (baseline, ${runs} runs)`);
  console.log(`nextauth start (fresh data dir) ready: median ${s.toFixed(0)} ms`);
  console.log(`ratio start/baseline: ${(s / b).toFixed(2)}x  (target: absolute under 3000 ms)`);
}
