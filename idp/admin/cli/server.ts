// `nextauth server create|list|show|update|delete`: virtual servers through the NS REST API
// (`/ns/api/v2/servers`), as root. Inputs are checked by the server; errors come back as one line.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { readPublicJwk } from '../sdk-config/publisher-key.js';
import { restClient } from './rest-client.js';

const serverSchema = z
  .object({
    name: z.string(),
    displayName: z.string(),
    logo: z.string().nullable(),
    policy: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    allowedApps: z.array(z.object({ name: z.string(), fingerprint: z.string() }).loose()),
    accentLight: z.string().nullable().optional(),
    accentDark: z.string().nullable().optional(),
    appLink: z.string().nullable().optional(),
    recoveryCodes: z.boolean().optional(),
    globalId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .loose();
type Server = z.output<typeof serverSchema>;
const listSchema = z.object({ servers: z.array(serverSchema) });

function integer(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function onOff(value: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new InvalidArgumentError('expected on or off');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const imageTypes: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** An https URL as given, or an image file as a data: URL (the server checks type and size). */
async function logoValue(value: string): Promise<string> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  const type = imageTypes[extname(value).toLowerCase()];
  if (!type) throw new Error(`--logo ${value}: expected an https URL or a .png, .jpg, .gif or .webp file`);
  const bytes = await readFile(value).catch(() => {
    throw new Error(`--logo ${value}: cannot read the file`);
  });
  return `data:${type};base64,${bytes.toString('base64')}`;
}

/** `name=<JWK file or inline JSON>`: a trusted SDK-configuration publisher. */
async function allowedApp(value: string) {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error(`--allow-app ${value}: expected NAME=JWK-FILE (or NAME='{"kty":"EC",…}')`);
  return { name: value.slice(0, eq), publisherKey: await readPublicJwk(value.slice(eq + 1)) };
}

interface SettingOptions {
  displayName?: string;
  logo?: string | false;
  pinAttempts?: number;
  lockout?: number;
  maxLockout?: number;
  blockAfter?: number;
  loginTimeout?: number;
  transactionTimeout?: number;
  transactionPin?: boolean;
  transactionsPerMinute?: number;
  maxOpenTransactions?: number;
  pushesPerMinute?: number;
  maxOpenPushes?: number;
  clientPushesPerMinute?: number;
  notMe?: string;
  notMeBlock?: number;
  allowApp?: string[];
  clearApps?: boolean;
  accentLight?: string | false;
  accentDark?: string | false;
  appLink?: string | false;
  recoveryCodes?: boolean;
  json?: boolean;
  url?: string;
}

function withSettings(command: Command): Command {
  return command
    .option('--logo <url-or-file>', 'https URL, or a PNG/JPEG/GIF/WebP file of at most 24 KiB')
    .option('--pin-attempts <n>', 'wrong PINs in a row before a lockout (1–100)', integer)
    .option('--lockout <seconds>', 'first lockout; doubles with each further one', integer)
    .option('--max-lockout <seconds>', 'ceiling of the doubled lockout', integer)
    .option('--block-after <n>', 'lockout number that blocks the PIN for good (0: never)', integer)
    .option('--login-timeout <seconds>', 'how long a login waits for the phone (10–3600)', integer)
    .option(
      '--transaction-timeout <seconds>',
      'how long a transaction waits for the phone (30–3600)',
      integer,
    )
    .option(
      '--transaction-pin <on|off>',
      'approve transactions with the PIN only, never biometrics alone',
      onOff,
    )
    .option('--transactions-per-minute <n>', 'transactions created per account and minute (1–60)', integer)
    .option('--max-open-transactions <n>', 'unanswered transactions per account at once (1–20)', integer)
    .option('--pushes-per-minute <n>', 'push logins per account and minute (1–60)', integer)
    .option('--max-open-pushes <n>', 'unanswered push logins per account at once (1–20)', integer)
    .option(
      '--client-pushes-per-minute <n>',
      'push logins one API key may provoke per user and minute (1–60)',
      integer,
    )
    .addOption(
      new Option('--not-me <policy>', 'what a "not me" answer does besides cancelling the login').choices([
        'block_push',
        'block_account',
        'none',
      ]),
    )
    .option('--not-me-block <seconds>', 'how long block_push stops pushes to the account', integer)
    .option(
      '--allow-app <name=jwk>',
      'trust the app whose SDK configuration this P-256 key signs (repeatable)',
      collect,
    )
    .option('--accent-light <#rrggbb>', 'accent colour of light login pages (WCAG AA contrast is checked)')
    .option('--accent-dark <#rrggbb>', 'accent colour of dark login pages (WCAG AA contrast is checked)')
    .option('--app-link <https-url>', "the app's https link (universal link / App Link) for app-to-app login")
    .option('--recovery-codes <on|off>', 'whether users may generate one-time recovery codes', onOff)
    .option('--json', 'machine-readable output: the server as JSON')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)');
}

async function settingsBody(opts: SettingOptions): Promise<Record<string, unknown>> {
  const policy = Object.fromEntries(
    (
      [
        ['pinAttempts', opts.pinAttempts],
        ['lockoutSeconds', opts.lockout],
        ['maxLockoutSeconds', opts.maxLockout],
        ['blockAfterLockouts', opts.blockAfter],
        ['loginTimeoutSeconds', opts.loginTimeout],
        ['transactionTimeoutSeconds', opts.transactionTimeout],
        ['transactionPinAlways', opts.transactionPin],
        ['transactionsPerMinute', opts.transactionsPerMinute],
        ['maxOpenTransactions', opts.maxOpenTransactions],
        ['pushesPerMinute', opts.pushesPerMinute],
        ['maxOpenPushes', opts.maxOpenPushes],
        ['clientPushesPerMinute', opts.clientPushesPerMinute],
        ['notMe', opts.notMe],
        ['notMeBlockSeconds', opts.notMeBlock],
      ] as const
    ).filter(([, v]) => v !== undefined),
  );
  const body: Record<string, unknown> = {};
  if (opts.displayName !== undefined) body.displayName = opts.displayName;
  if (opts.logo === false) body.logo = null;
  else if (opts.logo !== undefined) body.logo = await logoValue(opts.logo);
  if (Object.keys(policy).length > 0) body.policy = policy;
  if (opts.clearApps) body.allowedApps = [];
  for (const key of ['accentLight', 'accentDark', 'appLink'] as const) {
    const value = opts[key];
    if (value === false) body[key] = null;
    else if (value !== undefined) body[key] = value;
  }
  if (opts.recoveryCodes !== undefined) body.recoveryCodes = opts.recoveryCodes;
  if (opts.allowApp) body.allowedApps = await Promise.all(opts.allowApp.map(allowedApp));
  return body;
}

function describe(s: Server): string {
  const p = s.policy;
  const lines = [
    `${s.name}: ${s.displayName}`,
    `  global id       ${s.globalId}`,
    `  PIN             ${p.pinAttempts} attempts, lockout ${p.lockoutSeconds}s doubling to ${p.maxLockoutSeconds}s, ${
      p.blockAfterLockouts === 0 ? 'never blocks' : `blocks at lockout ${p.blockAfterLockouts}`
    }`,
    `  timeouts        login ${p.loginTimeoutSeconds}s, transaction ${p.transactionTimeoutSeconds}s`,
    `  transactions    ${p.transactionPinAlways ? 'PIN always' : 'PIN or biometrics'}, ${p.transactionsPerMinute} per minute, ${p.maxOpenTransactions} open at once`,
    `  push            ${p.pushesPerMinute} per minute (${p.clientPushesPerMinute} per API key and user), ${p.maxOpenPushes} open at once, "not me": ${p.notMe}${
      p.notMe === 'block_push' ? ` for ${p.notMeBlockSeconds}s` : ''
    }`,
    `  logo            ${s.logo === null ? '-' : s.logo.startsWith('data:') ? `inline image (${s.logo.length} characters)` : s.logo}`,
    `  accent          ${s.accentLight ?? '-'} light, ${s.accentDark ?? '-'} dark`,
    `  app link        ${s.appLink ?? '-'}`,
    `  recovery codes  ${s.recoveryCodes ? 'on' : 'off'}`,
    `  allowed apps    ${s.allowedApps.length === 0 ? 'any app of this NS’s SFS' : s.allowedApps.map((a) => `${a.name} (${a.fingerprint})`).join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

const print = (server: Server, json?: boolean) =>
  process.stdout.write(json ? `${JSON.stringify(server)}\n` : describe(server));

const path = (name?: string) =>
  `/ns/api/v2/servers${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

export function registerServer(program: Command): void {
  const server = program.command('server').description('NS virtual servers (tenants), through the REST API');

  withSettings(
    server
      .command('create')
      .description('create a virtual server (its PIN policy goes to the SFS at once)')
      .argument('<name>', 'lowercase letters, digits and inner hyphens; appears in URLs')
      .requiredOption('--display-name <text>', 'shown on the phone and the login page'),
  ).action(async (name: string, opts: SettingOptions) => {
    const client = await restClient(opts);
    const created = await client.call({
      method: 'POST',
      path: path(),
      body: { name, ...(await settingsBody(opts)) },
      schema: serverSchema,
      what: 'server create',
    });
    print(created, opts.json);
  });

  server
    .command('list')
    .description('list the virtual servers')
    .option('--json', 'machine-readable output: {"servers": [...]}')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)')
    .action(async (opts: { json?: boolean; url?: string }) => {
      const client = await restClient(opts);
      const { servers } = await client.call({
        method: 'GET',
        path: path(),
        schema: listSchema,
        what: 'server list',
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ servers })}\n`);
        return;
      }
      for (const s of servers) process.stdout.write(`${s.name}\t${s.displayName}\t${s.globalId}\n`);
    });

  server
    .command('show')
    .description('show one virtual server')
    .argument('<name>')
    .option('--json', 'machine-readable output: the server as JSON')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)')
    .action(async (name: string, opts: { json?: boolean; url?: string }) => {
      const client = await restClient(opts);
      print(
        await client.call({ method: 'GET', path: path(name), schema: serverSchema, what: 'server show' }),
        opts.json,
      );
    });

  withSettings(
    server
      .command('update')
      .description(
        'change display name, logo, PIN policy, allowed apps, colours, app link or recovery codes (only what is given)',
      )
      .argument('<name>')
      .option('--display-name <text>', 'shown on the phone and the login page'),
  )
    // After --logo: commander makes a --no-* option defined first default to true.
    .option('--no-logo', 'remove the logo')
    .option('--clear-apps', 'trust no listed app any more (any app of this NS’s SFS)')
    .option('--no-accent-light', 'back to the page colour of light pages')
    .option('--no-accent-dark', 'back to the page colour of dark pages')
    .option('--no-app-link', 'remove the app link (the nextauth:// scheme only)')
    .action(async (name: string, opts: SettingOptions) => {
      const body = await settingsBody(opts);
      if (Object.keys(body).length === 0) throw new Error('nothing to change: give at least one option');
      const client = await restClient(opts);
      print(
        await client.call({
          method: 'PATCH',
          path: path(name),
          body,
          schema: serverSchema,
          what: 'server update',
        }),
        opts.json,
      );
    });

  server
    .command('delete')
    .description('delete a virtual server with its sessions, accounts and API keys')
    .argument('<name>')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .option('--json', 'machine-readable output: {"deleted": name}')
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)')
    .action(async (name: string, opts: { json?: boolean; url?: string }) => {
      const client = await restClient(opts);
      await client.call({ method: 'DELETE', path: path(name), schema: undefined, what: 'server delete' });
      process.stdout.write(opts.json ? `${JSON.stringify({ deleted: name })}\n` : `deleted ${name}\n`);
    });
}
