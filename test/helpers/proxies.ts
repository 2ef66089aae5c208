// Real Caddy and nginx for system tests: the shipped configurations (docker/forward-auth/) rewritten to
// loopback ports in a temporary directory, started as child processes and stopped afterwards. Missing
// binaries skip the suite with a notice on a developer's machine and fail it when CI=true.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Context } from 'mocha';
import { freePort } from './http.js';
import { inCi } from './services.js';

export type ProxyKind = 'caddy' | 'nginx';

export interface RunningProxy {
  kind: ProxyKind;
  /** Origin the browser talks to. */
  url: string;
  /** Everything the proxy wrote to stderr/its error log so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

const binaries: Record<ProxyKind, string> = {
  caddy: process.env.NEXTAUTH_TEST_CADDY ?? 'caddy',
  nginx: process.env.NEXTAUTH_TEST_NGINX ?? '/usr/sbin/nginx',
};

const shipped = (path: string) => new URL(`../../docker/forward-auth/${path}`, import.meta.url);

/** Skips (or, in CI, fails) the suite when the proxy's binary does not run. */
export async function requireProxy(ctx: Context, kind: ProxyKind): Promise<void> {
  try {
    await promisify(execFile)(binaries[kind], kind === 'caddy' ? ['version'] : ['-v'], { timeout: 10_000 });
  } catch (err) {
    const problem = `${kind} (${binaries[kind]}) did not run: ${(err as Error).message.split('\n')[0]}`;
    if (inCi) throw new Error(`required test service missing (CI=true): ${problem}`);
    process.stderr.write(`\n  [skipped] ${ctx.test?.parent?.fullTitle() ?? kind}: ${problem}\n`);
    ctx.skip();
  }
}

export interface ProxyTargets {
  /** host:port of nextAuth. */
  nextauth: string;
  /** host:port of the protected app. */
  app: string;
  server?: string;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`proxy exited (${child.exitCode}): ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy did not listen on ${port}: ${output()}`);
}

function substitute(text: string, targets: ProxyTargets): string {
  return text
    .replaceAll('nextauth:3000', targets.nextauth)
    .replaceAll('app:8080', targets.app)
    .replaceAll('/forward-auth/default', `/forward-auth/${targets.server ?? 'default'}`);
}

export async function startProxy(kind: ProxyKind, targets: ProxyTargets): Promise<RunningProxy> {
  const dir = await mkdtemp(join(tmpdir(), `nextauth-${kind}-`));
  const port = await freePort();
  let log = '';
  let child: ChildProcess;
  if (kind === 'caddy') {
    const site = substitute(await readFile(shipped('caddy/Caddyfile'), 'utf8'), targets).replace(
      'app.example.com {',
      `http://127.0.0.1:${port} {`,
    );
    await writeFile(join(dir, 'Caddyfile'), `{\n\tadmin off\n\tauto_https off\n}\n\n${site}`);
    child = spawn(binaries.caddy, ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], {
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    const site = substitute(await readFile(shipped('nginx/forward-auth.conf'), 'utf8'), targets)
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('server_name app.example.com;', 'server_name 127.0.0.1;');
    await writeFile(join(dir, 'site.conf'), site);
    const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
    await writeFile(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'master_process off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        '  access_log off;',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  include ${join(dir, 'site.conf')};`,
        '}',
      ].join('\n'),
    );
    child = spawn(binaries.nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  child.stdout?.on('data', (d) => {
    log += String(d);
  });
  child.stderr?.on('data', (d) => {
    log += String(d);
  });
  const output = () => log.slice(-4000);
  try {
    await waitForPort(port, child, output);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
