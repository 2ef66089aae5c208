// `nextauth audit tail|export`: reads the NS audit log through the REST API (GET /ns/api/v2/audit[/export]).
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { printable } from './printable.js';
import { apiBaseUrl, rootApiKey } from './user.js';

const eventSchema = z
  .object({
    id: z.string(),
    time: z.string(),
    type: z.string(),
    server: z.string().nullable(),
    actor: z.object({ kind: z.string(), id: z.string() }),
    subject: z.object({ kind: z.string(), id: z.string() }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .loose();
type Event = z.output<typeof eventSchema>;
const pageSchema = z.object({ events: z.array(eventSchema), next_marker: z.string().nullable() });
const problemSchema = z
  .object({
    detail: z.string().optional(),
    title: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .loose();

function pageSize(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return Number(value);
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('expected seconds, more than 0 and at most 3600');
  return n;
}

interface FilterOptions {
  server?: string;
  type?: string;
  actor?: string;
  subject?: string;
  since?: string;
  until?: string;
  url?: string;
}

interface TailOptions extends FilterOptions {
  limit: number;
  follow?: boolean;
  interval: number;
  json?: boolean;
}

function withFilters(command: Command): Command {
  return command
    .option('--server <name>', 'only events of this virtual server')
    .option('--type <types>', 'comma-separated event types; `session.*` selects a group')
    .option('--actor <kind[:id]>', 'who acted, e.g. apikey:root, account:<id>')
    .option('--subject <kind[:id]>', 'acted on, e.g. user:alice')
    .option('--since <iso>', 'events at or after this ISO 8601 time')
    .option('--until <iso>', 'events before this ISO 8601 time')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)');
}

function filterParams(opts: FilterOptions): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of ['server', 'type', 'actor', 'subject', 'since', 'until'] as const) {
    const value = opts[name];
    if (value !== undefined) params[name] = value;
  }
  return params;
}

/** GET with the API key; one clear line for every way it can fail. */
async function get(
  base: string,
  key: string,
  path: string,
  params: Record<string, string>,
): Promise<Response> {
  const url = `${base}${path}?${new URLSearchParams(params)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'x-apikey': key } });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach ${base} (${cause}); is nextauth running? Use --url to point at it`);
  }
  if (!res.ok) {
    const problem = problemSchema.safeParse(await res.json().catch(() => undefined));
    const first = problem.success ? problem.data.errors?.[0] : undefined;
    const detail = problem.success ? (problem.data.detail ?? problem.data.title) : undefined;
    const field = first ? ` (${first.path}: ${first.message})` : '';
    const hint = res.status === 401 ? ' (wrong API key?)' : '';
    throw new Error(`audit log refused: ${res.status} ${detail ?? res.statusText}${field}${hint}`);
  }
  return res;
}

async function getPage(base: string, key: string, params: Record<string, string>) {
  const res = await get(base, key, '/ns/api/v2/audit', params);
  const page = pageSchema.safeParse(await res.json().catch(() => undefined));
  if (!page.success) throw new Error(`unexpected answer from ${base}: not an audit page`);
  return page.data;
}

function humanLine(e: Event): string {
  const details = Object.entries(e.details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const parts = [
    e.time,
    e.type,
    e.server ?? '-',
    `${e.actor.kind}:${e.actor.id} -> ${e.subject.kind}:${e.subject.id}`,
    e.ip ?? '-',
    details,
  ];
  return printable(parts.filter(Boolean).join('  '));
}

async function tail(opts: TailOptions): Promise<void> {
  const base = apiBaseUrl(process.env, opts.url);
  const key = await rootApiKey(process.env);
  const filters = filterParams(opts);
  const print = (e: Event) => process.stdout.write(`${opts.json ? JSON.stringify(e) : humanLine(e)}\n`);
  // The newest `limit` events, printed oldest first as tail(1) does.
  const page = await getPage(base, key, { ...filters, order: 'desc', limit: String(opts.limit) });
  const shown = page.events.reverse();
  for (const e of shown) print(e);
  if (!opts.follow) return;

  // Follow: oldest first from the newest shown event on; events of that same millisecond already printed
  // are skipped once, after which the marker alone says where to go on.
  const newest = shown.at(-1);
  const seen = new Set(shown.filter((e) => e.time === newest?.time).map((e) => e.id));
  let since = newest?.time ?? opts.since;
  let marker: string | null = null;
  for (;;) {
    await sleep(opts.interval * 1000);
    const params: Record<string, string> = { ...filters, order: 'asc', limit: '1000' };
    if (marker !== null) params.marker = marker;
    else if (since !== undefined) params.since = since;
    let next: z.output<typeof pageSchema>;
    try {
      next = await getPage(base, key, params);
    } catch (err) {
      // A restarting server is not the end of a follow; a refusal (4xx) is.
      if (!(err as Error).message.startsWith('cannot reach')) throw err;
      process.stderr.write(`nextauth: ${(err as Error).message}; retrying\n`);
      continue;
    }
    for (const e of next.events) if (marker !== null || !seen.has(e.id)) print(e);
    if (next.next_marker !== null) {
      marker = next.next_marker;
      since = undefined;
    }
  }
}

async function exportLog(opts: FilterOptions): Promise<void> {
  const base = apiBaseUrl(process.env, opts.url);
  const res = await get(base, await rootApiKey(process.env), '/ns/api/v2/audit/export', filterParams(opts));
  if (!res.body) return;
  let last = 10;
  try {
    for await (const chunk of Readable.fromWeb(
      res.body as WebReadableStream<Uint8Array>,
    ) as AsyncIterable<Buffer>) {
      if (chunk.length > 0) last = chunk[chunk.length - 1] ?? last;
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
  } catch (err) {
    throw new Error(`export interrupted: ${(err as Error).message}; the output is incomplete`);
  }
  // Every line ends in a newline: anything else was cut off on the way.
  if (last !== 10) throw new Error('export interrupted: the last line is incomplete');
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('the NS audit log: logins, declines, enrolments, key changes');
  withFilters(audit.command('tail'))
    .description('print the newest audit events (oldest first), optionally following new ones')
    .option('--limit <n>', 'how many of the newest events, 1 to 1000', pageSize, 10)
    .option('--follow', 'keep polling for new events until interrupted')
    .option('--interval <seconds>', 'poll interval of --follow', seconds, 2)
    .option('--json', 'one JSON object per line (the REST API event shape)')
    .action((opts: TailOptions) => tail(opts));
  withFilters(audit.command('export'))
    .description('write every matching event as JSON lines (oldest first) to stdout')
    .option('--json', 'accepted for symmetry: the output is always JSON lines')
    .action((opts: FilterOptions) => exportLog(opts));
}
