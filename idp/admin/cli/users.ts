// `nextauth user list|show|set|delete`: users of a virtual server through the NS REST API
// (`/ns/api/v2/servers/{server}/users`), as root. Attaches to the `user` command of user.ts.
import type { Command } from 'commander';
import { z } from 'zod';
import { printable, printableRow } from './printable.js';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, serverApiPath, withServerOptions } from './server-options.js';

const userSchema = z
  .object({
    userid: z.string(),
    server: z.string(),
    name: z.string().nullable(),
    email: z.string().nullable(),
    attributes: z.record(z.string(), z.string()),
    groups: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .loose();
type User = z.output<typeof userSchema>;
const pageSchema = z.object({ users: z.array(userSchema), next_marker: z.string().nullable() });
const deletedSchema = z.object({ userid: z.string(), accountsDeleted: z.number() });

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `k=v` pairs; the value may contain `=`. */
function pairs(values: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new Error(`${option} ${value}: expected NAME=VALUE`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

function describe(u: User): string {
  const attrs = Object.entries(u.attributes).map(([k, v]) => `    ${k} = ${v}`);
  return [
    `${u.userid} (${u.server})`,
    `  name    ${u.name ?? '-'}`,
    `  email   ${u.email ?? '-'}`,
    `  groups  ${u.groups.length > 0 ? u.groups.join(', ') : '-'}`,
    ...(attrs.length > 0 ? ['  attributes', ...attrs] : []),
  ]
    .map(printable)
    .join('\n');
}

const usersPath = (server: string, userid?: string) =>
  `${serverApiPath(server)}/users${userid === undefined ? '' : `/${encodeURIComponent(userid)}`}`;

interface ListOptions extends ServerCommandOptions {
  attr?: string[];
  group?: string[];
  q?: string;
  sort?: string;
  limit?: string;
  marker?: string;
  all?: boolean;
}

interface SetOptions extends ServerCommandOptions {
  user: string;
  name?: string;
  email?: string;
  attr?: string[];
  unsetAttr?: string[];
  group?: string[];
  groups?: boolean;
  replace?: boolean;
}

export function registerUsers(program: Command): void {
  const user =
    program.commands.find((c) => c.name() === 'user') ??
    program.command('user').description('NS users and their phones');

  withServerOptions(
    user
      .command('list')
      .description('list users: filters combine with AND; one page unless --all')
      .option('--attr <name=value>', 'exact attribute match (also name=…, email=…), repeatable', collect)
      .option('--group <group>', 'members of this group; repeat for any of several', collect)
      .option('--q <text>', 'prefix of userid, name or email')
      .option('--sort <key>', 'userid (default), -userid, createdAt, -createdAt')
      .option('--limit <n>', 'page size, 1–1000 (default 100)')
      .option('--marker <marker>', 'continue after a previous page (its next_marker)')
      .option('--all', 'follow next_marker to the end'),
    '{"users": [...], "next_marker": …}',
  ).action(async (opts: ListOptions) => {
    const client = await restClient(opts);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(pairs(opts.attr, '--attr'))) params.set(`attr.${k}`, v);
    if (opts.group)
      params.set('group', opts.group.length === 1 ? (opts.group[0] ?? '') : `in:${opts.group.join(',')}`);
    if (opts.q !== undefined) params.set('q', opts.q);
    if (opts.sort !== undefined) params.set('sort', opts.sort);
    if (opts.limit !== undefined) params.set('limit', opts.limit);
    const users: User[] = [];
    let marker = opts.marker ?? null;
    for (;;) {
      if (marker !== null) params.set('marker', marker);
      const page = await client.call({
        method: 'GET',
        path: `${usersPath(opts.server)}?${params}`,
        schema: pageSchema,
        what: 'user list',
      });
      users.push(...page.users);
      marker = page.next_marker;
      if (!opts.all || marker === null) break;
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ users, next_marker: marker })}\n`);
      return;
    }
    for (const u of users) {
      process.stdout.write(
        `${printableRow([u.userid, u.name ?? '-', u.email ?? '-', u.groups.join(',') || '-'])}\n`,
      );
    }
    if (marker !== null) process.stderr.write(`more: --marker ${marker} (or --all)\n`);
  });

  withServerOptions(
    user.command('show').description('show one user').requiredOption('--user <userid>', 'the userid'),
    'the user',
  ).action(async (opts: ServerCommandOptions & { user: string }) => {
    const client = await restClient(opts);
    const u = await client.call({
      method: 'GET',
      path: usersPath(opts.server, opts.user),
      schema: userSchema,
      what: 'user show',
    });
    process.stdout.write(opts.json ? `${JSON.stringify(u)}\n` : `${describe(u)}\n`);
  });

  withServerOptions(
    user
      .command('set')
      .description(
        'create or change a user: given values change, the rest stays (--replace: the rest is emptied)',
      )
      .requiredOption('--user <userid>', 'the userid (free-form, as your application knows the user)')
      .option('--name <name>', 'display name')
      .option('--email <email>', 'e-mail address')
      .option('--attr <name=value>', 'set an attribute, repeatable', collect)
      .option('--unset-attr <name>', 'remove an attribute, repeatable', collect)
      .option('--group <group>', 'the user’s groups (replaces the list), repeatable', collect)
      .option('--no-groups', 'remove the user from every group')
      .option('--replace', 'overwrite the whole profile with what is given'),
    'the user',
  ).action(async (opts: SetOptions) => {
    const attributes: Record<string, string | null> = pairs(opts.attr, '--attr');
    for (const name of opts.unsetAttr ?? []) attributes[name] = null;
    const groups = opts.groups === false ? [] : opts.group;
    const body: Record<string, unknown> = {
      ...(opts.name !== undefined && { name: opts.name }),
      ...(opts.email !== undefined && { email: opts.email }),
      ...(Object.keys(attributes).length > 0 && { attributes }),
      ...(groups !== undefined && { groups }),
    };
    if (opts.replace && opts.unsetAttr) throw new Error('--unset-attr has no meaning with --replace');
    const client = await restClient(opts);
    const u = await client.call({
      method: opts.replace ? 'PUT' : 'PATCH',
      path: usersPath(opts.server, opts.user),
      body,
      schema: userSchema,
      what: 'user set',
    });
    process.stdout.write(opts.json ? `${JSON.stringify(u)}\n` : `${describe(u)}\n`);
  });

  withServerOptions(
    user
      .command('delete')
      .description('delete a user’s profile and all its phones (accounts) on the server')
      .requiredOption('--user <userid>', 'the userid')
      .requiredOption('--yes', 'confirm: this cannot be undone'),
    '{"userid", "accountsDeleted"}',
  ).action(async (opts: ServerCommandOptions & { user: string }) => {
    const client = await restClient(opts);
    const r = await client.call({
      method: 'DELETE',
      path: usersPath(opts.server, opts.user),
      schema: deletedSchema,
      what: 'user delete',
    });
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(r)}\n`
        : `${printable(`deleted ${r.userid} and ${r.accountsDeleted} account(s)`)}\n`,
    );
  });
}
