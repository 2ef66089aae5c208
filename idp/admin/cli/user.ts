// `nextauth user enrol-link`: asks the running system's NS REST API for a one-time enrol link (DESIGN.md §5).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import QRCode from 'qrcode';
import { z } from 'zod';

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds');
  return Number(value);
}

/** `--url`, else NEXTAUTH_PUBLIC_URL, else the embedded default on NEXTAUTH_PORT. */
export function apiBaseUrl(env: NodeJS.ProcessEnv, url?: string): string {
  const base = url ?? env.NEXTAUTH_PUBLIC_URL ?? `http://localhost:${env.NEXTAUTH_PORT ?? '3000'}`;
  return base.replace(/\/+$/, '');
}

/** NEXTAUTH_NS_ROOT_API_KEY (or its `_FILE`), else the 0600 file embedded mode writes into the data dir. */
export async function rootApiKey(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.NEXTAUTH_NS_ROOT_API_KEY) return env.NEXTAUTH_NS_ROOT_API_KEY;
  const path = env.NEXTAUTH_NS_ROOT_API_KEY_FILE ?? join(env.NEXTAUTH_DATA_DIR ?? './data', 'root-api-key');
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (key) return key;
  } catch {
    // Reported below with what to set instead.
  }
  throw new Error(
    `no API key: set NEXTAUTH_NS_ROOT_API_KEY, or NEXTAUTH_DATA_DIR to the data directory of the running system (${path} is missing or empty)`,
  );
}

const linkSchema = z.object({ uri: z.string().startsWith('nextauth://enrol?'), expiresAt: z.string() });
const problemSchema = z.object({ detail: z.string().optional(), title: z.string().optional() }).loose();

async function requestEnrolLink(
  base: string,
  key: string,
  body: { server: string; userid: string; ttlSeconds?: number },
) {
  let res: Response;
  try {
    res = await fetch(`${base}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': key },
      body: JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach ${base} (${cause}); is nextauth running? Use --url to point at it`);
  }
  const json: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const problem = problemSchema.safeParse(json);
    const detail = problem.success ? (problem.data.detail ?? problem.data.title) : undefined;
    const hint = res.status === 401 ? ' (wrong API key?)' : '';
    throw new Error(`enrol link refused: ${res.status} ${detail ?? res.statusText}${hint}`);
  }
  const link = linkSchema.safeParse(json);
  if (!link.success) throw new Error(`unexpected answer from ${base}: not an enrol link`);
  return link.data;
}

interface EnrolLinkOptions {
  server: string;
  user: string;
  ttl?: number;
  json?: boolean;
  url?: string;
}

/** Adds to an existing `user` command when another module registered one (e.g. `user set`). */
export function registerUser(program: Command): void {
  const user =
    program.commands.find((c) => c.name() === 'user') ??
    program.command('user').description('NS users and their phones');
  user
    .command('enrol-link')
    .description('create a one-time link (and QR code) that enrols a phone for a user')
    .requiredOption('--server <name>', 'virtual server', 'default')
    .requiredOption('--user <userid>', 'the userid the phone will log in as')
    .option('--ttl <seconds>', 'validity, 30 to 900 (default 600)', integer)
    .option('--json', 'machine-readable output: {"uri", "expiresAt"}')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)')
    .action(async (opts: EnrolLinkOptions) => {
      const base = apiBaseUrl(process.env, opts.url);
      const link = await requestEnrolLink(base, await rootApiKey(process.env), {
        server: opts.server,
        userid: opts.user,
        ...(opts.ttl !== undefined ? { ttlSeconds: opts.ttl } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(link)}\n`);
        return;
      }
      // The URI alone on the first line, so scripts can `head -1`; the QR only for a person at a terminal.
      process.stdout.write(`${link.uri}\n`);
      if (process.stdout.isTTY) {
        process.stdout.write(await QRCode.toString(link.uri, { type: 'terminal', small: true }));
        process.stdout.write(`Scan with the nextAuth app; valid until ${link.expiresAt}.\n`);
      }
    });
}
