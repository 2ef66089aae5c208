// `nextauth account list|show|block|unblock|set|delete`: accounts (phones) of a virtual server through the NS
// REST API (`/ns/api/v2/servers/{server}/accounts`), as root.
import type { Command } from 'commander';
import { z } from 'zod';
import { printable, printableRow } from './printable.js';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, serverApiPath, withServerOptions } from './server-options.js';

const accountSchema = z
  .object({
    id: z.string(),
    server: z.string(),
    userid: z.string(),
    description: z.string().nullable(),
    clientVersion: z.string().nullable(),
    createdAt: z.string(),
    lastLoginAt: z.string().nullable(),
    lastPushAt: z.string().nullable(),
    blockedAt: z.string().nullable(),
    keyThumbprint: z.string(),
  })
  .loose();
type Account = z.output<typeof accountSchema>;
const pageSchema = z.object({ accounts: z.array(accountSchema), next_marker: z.string().nullable() });
const userDeletedSchema = z.object({ userid: z.string(), accountsDeleted: z.number() });

const state = (a: Account) => (a.blockedAt === null ? 'active' : 'blocked');

function describe(a: Account): string {
  return [
    `${a.id} (${a.server})`,
    `  userid       ${a.userid}`,
    `  state        ${state(a)}${a.blockedAt === null ? '' : ` since ${a.blockedAt}`}`,
    `  description  ${a.description ?? '-'}`,
    `  app version  ${a.clientVersion ?? '-'}`,
    `  enrolled     ${a.createdAt}`,
    `  last login   ${a.lastLoginAt ?? '-'}`,
    `  last push    ${a.lastPushAt ?? '-'}`,
    `  key          ${a.keyThumbprint}`,
  ]
    .map(printable)
    .join('\n');
}

const accountPath = (server: string, id: string) =>
  `${serverApiPath(server)}/accounts/${encodeURIComponent(id)}`;

interface ListOptions extends ServerCommandOptions {
  user?: string;
  blocked?: boolean;
  limit?: string;
  marker?: string;
  all?: boolean;
}

/** One account answer: JSON as the API gave it, or the description for a person. */
const printAccount = (a: Account, opts: ServerCommandOptions) =>
  process.stdout.write(opts.json ? `${JSON.stringify(a)}\n` : `${describe(a)}\n`);

export function registerAccount(program: Command): void {
  const account = program
    .command('account')
    .description('NS accounts: the phones enrolled for users (list, block, move, delete)');

  withServerOptions(
    account
      .command('list')
      .description('list accounts in enrolment order; one page unless --all')
      .option('--user <userid>', 'only this userid’s accounts')
      .option('--blocked', 'only blocked accounts')
      .option('--limit <n>', 'page size, 1–1000 (default 100)')
      .option('--marker <marker>', 'continue after a previous page (its next_marker)')
      .option('--all', 'follow next_marker to the end'),
    '{"accounts": [...], "next_marker": …}',
  ).action(async (opts: ListOptions) => {
    const client = await restClient(opts);
    const params = new URLSearchParams();
    if (opts.user !== undefined) params.set('userid', opts.user);
    if (opts.blocked) params.set('blocked', 'true');
    if (opts.limit !== undefined) params.set('limit', opts.limit);
    const accounts: Account[] = [];
    let marker = opts.marker ?? null;
    for (;;) {
      if (marker !== null) params.set('marker', marker);
      const page = await client.call({
        method: 'GET',
        path: `${serverApiPath(opts.server)}/accounts?${params}`,
        schema: pageSchema,
        what: 'account list',
      });
      accounts.push(...page.accounts);
      marker = page.next_marker;
      if (!opts.all || marker === null) break;
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ accounts, next_marker: marker })}\n`);
      return;
    }
    for (const a of accounts) {
      const columns = [a.id, a.userid, state(a), a.description ?? '-', a.lastLoginAt ?? '-'];
      // Each column on its own: the tabs between them must stay tabs.
      process.stdout.write(`${printableRow(columns)}\n`);
    }
    if (marker !== null) process.stderr.write(`more: --marker ${marker} (or --all)\n`);
  });

  withServerOptions(
    account.command('show').description('show one account').argument('<id>', 'account id'),
    'the account',
  ).action(async (id: string, opts: ServerCommandOptions) => {
    const client = await restClient(opts);
    const a = await client.call({
      method: 'GET',
      path: accountPath(opts.server, id),
      schema: accountSchema,
      what: 'account show',
    });
    printAccount(a, opts);
  });

  for (const [verb, text] of [
    ['block', 'block an account: its logins are refused (nothing happens when it is blocked already)'],
    ['unblock', 'unblock an account (nothing happens when it is not blocked)'],
  ] as const) {
    withServerOptions(
      account.command(verb).description(text).argument('<id>', 'account id'),
      'the account',
    ).action(async (id: string, opts: ServerCommandOptions) => {
      const client = await restClient(opts);
      const a = await client.call({
        method: 'POST',
        path: `${accountPath(opts.server, id)}/${verb}`,
        schema: accountSchema,
        what: `account ${verb}`,
      });
      printAccount(a, opts);
    });
  }

  withServerOptions(
    account
      .command('set')
      .description('move an account (phone) to another userid and/or set its description')
      .argument('<id>', 'account id')
      .option('--user <userid>', 'the userid the phone logs in as from now on')
      .option('--description <text>', 'a note on the phone, at most 100 characters')
      .option('--no-description', 'remove the description'),
    'the account',
  ).action(
    async (id: string, opts: ServerCommandOptions & { user?: string; description?: string | false }) => {
      const body: Record<string, unknown> = {
        ...(opts.user !== undefined && { userid: opts.user }),
        ...(opts.description !== undefined && {
          description: opts.description === false ? null : opts.description,
        }),
      };
      if (Object.keys(body).length === 0)
        throw new Error('account set: give --user, --description or --no-description');
      const client = await restClient(opts);
      const a = await client.call({
        method: 'PATCH',
        path: accountPath(opts.server, id),
        body,
        schema: accountSchema,
        what: 'account set',
      });
      printAccount(a, opts);
    },
  );

  withServerOptions(
    account
      .command('delete')
      .description('delete an account (that phone can no longer log in), or with --user all of a user’s')
      .argument('[id]', 'account id (or --user)')
      .option('--user <userid>', 'delete every account of this userid (the user’s profile stays)')
      .requiredOption('--yes', 'confirm: this cannot be undone'),
    'the deleted account, or {"userid", "accountsDeleted"} with --user',
  ).action(async (id: string | undefined, opts: ServerCommandOptions & { user?: string }) => {
    if ((id === undefined) === (opts.user === undefined))
      throw new Error('account delete: give either an account id or --user, not both');
    const client = await restClient(opts);
    if (opts.user !== undefined) {
      const r = await client.call({
        method: 'DELETE',
        path: `${serverApiPath(opts.server)}/users/${encodeURIComponent(opts.user)}/accounts`,
        schema: userDeletedSchema,
        what: 'account delete',
      });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(r)}\n`
          : `${printable(`deleted ${r.accountsDeleted} account(s) of ${r.userid}`)}\n`,
      );
      return;
    }
    const a = await client.call({
      method: 'DELETE',
      path: accountPath(opts.server, id ?? ''),
      schema: accountSchema,
      what: 'account delete',
    });
    process.stdout.write(
      opts.json ? `${JSON.stringify(a)}\n` : `${printable(`deleted ${a.id} (${a.userid})`)}\n`,
    );
  });
}
