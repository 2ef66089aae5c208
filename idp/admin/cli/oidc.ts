// `nextauth oidc client add|list|show|update|remove` and `nextauth oidc rotate-keys`: OIDC clients and signing
// keys of a virtual server's OpenID Provider, through the IdP management API (`/idp/api/v1`) of the running
// system, as root. A generated client secret is shown once.
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, withServerOptions } from './server-options.js';

const clientGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
const defaultGrantTypes = 'authorization_code,refresh_token';

const clientSchema = z
  .object({
    server: z.string(),
    clientId: z.string(),
    issuer: z.string(),
    public: z.boolean(),
    tokenEndpointAuthMethod: z.string(),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    backchannelLogoutUri: z.string().nullable(),
    grantTypes: z.array(z.string()),
    name: z.string().nullable(),
    thirdParty: z.boolean(),
    subjectType: z.string(),
    requirePar: z.boolean(),
    ciba: z.string().nullable().optional(),
    cibaNotify: z.string().nullable().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .loose();
type Client = z.output<typeof clientSchema>;
const createdSchema = clientSchema.extend({ secret: z.string().optional() });
const pageSchema = z.object({ clients: z.array(clientSchema), next_marker: z.string().nullable() });
const keysSchema = z.object({
  keys: z.array(
    z.object({ kid: z.string(), alg: z.string(), state: z.string(), createdAt: z.string() }).loose(),
  ),
});

/** `/idp/api/v1/servers/{server}/oidc`, the server name URL-encoded. */
const oidcPath = (server: string) => `/idp/api/v1/servers/${encodeURIComponent(server)}/oidc`;
const clientPath = (server: string, id: string) => `${oidcPath(server)}/clients/${encodeURIComponent(id)}`;

const collect = (value: string, previous: string[] = []) => [...previous, value];

function grantTypes(value: string): string[] {
  const list = value.split(',').map((g) => g.trim());
  for (const g of list) {
    if (!(clientGrantTypes as readonly string[]).includes(g))
      throw new InvalidArgumentError(`expected a comma-separated list of ${clientGrantTypes.join(', ')}`);
  }
  return list;
}

function subjectType(value: string): string {
  if (value !== 'public' && value !== 'pairwise')
    throw new InvalidArgumentError('expected public or pairwise');
  return value;
}

function describeClient(c: Client): string {
  const kind = [
    c.public ? 'public, PKCE' : 'confidential, client_secret_basic',
    ...(c.thirdParty ? ['third-party'] : []),
    ...(c.subjectType === 'pairwise' ? ['pairwise'] : []),
    ...(c.requirePar ? ['PAR required'] : []),
    ...(c.ciba ? [`CIBA ${c.ciba}${c.cibaNotify ? ` → ${c.cibaNotify}` : ''}`] : []),
  ].join(', ');
  const logout =
    (c.postLogoutRedirectUris.length > 0 ? ` logout: ${c.postLogoutRedirectUris.join(' ')}` : '') +
    (c.backchannelLogoutUri !== null ? ` back-channel logout: ${c.backchannelLogoutUri}` : '');
  return `${c.server}/${c.clientId} (${kind}): ${c.redirectUris.join(' ') || '-'}${logout} [${c.grantTypes.join(', ')}]`;
}

/** The settings `add` and `update` share (all but `--id`, `--secret`, `--public`). */
function withClientSettings(command: Command): Command {
  return command
    .option('--redirect-uri <uri>', 'allowed redirect URI (repeat for more)', collect)
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return to (repeat)', collect)
    .option('--backchannel-logout-uri <uri>', 'where the IdP posts logout tokens when a user logs out')
    .option(
      '--grant-types <list>',
      `comma-separated, of ${clientGrantTypes.join(', ')} (default: ${defaultGrantTypes})`,
      grantTypes,
    )
    .option('--name <name>', 'client name (shown on the consent and logout pages)')
    .option('--third-party', 'not your own application: users are asked for consent')
    .option(
      '--subject-type <type>',
      'public (sub = userid, default) or pairwise (per redirect host)',
      subjectType,
    )
    .option('--require-par', 'authorization requests must be pushed first (RFC 9126)')
    .option(
      '--ciba <mode>',
      'OIDC CIBA token delivery: poll or ping (confidential clients; without --grant-types and --redirect-uri the client does CIBA only)',
      cibaMode,
    )
    .option(
      '--ciba-notify <url>',
      'CIBA ping: the client notification endpoint (allow-listed outbound target)',
    );
}

function cibaMode(value: string): string {
  if (value !== 'poll' && value !== 'ping') throw new InvalidArgumentError('expected poll or ping');
  return value;
}

interface SettingOptions {
  redirectUri?: string[];
  postLogoutRedirectUri?: string[];
  backchannelLogoutUri?: string;
  grantTypes?: string[];
  name?: string;
  thirdParty?: boolean;
  subjectType?: string;
  requirePar?: boolean;
  ciba?: string | false;
  cibaNotify?: string;
}

/** The JSON members for the settings given on the command line (and only those). */
function settings(opts: SettingOptions): Record<string, unknown> {
  return {
    ...(opts.redirectUri !== undefined ? { redirectUris: opts.redirectUri } : {}),
    ...(opts.postLogoutRedirectUri !== undefined
      ? { postLogoutRedirectUris: opts.postLogoutRedirectUri }
      : {}),
    ...(opts.backchannelLogoutUri !== undefined ? { backchannelLogoutUri: opts.backchannelLogoutUri } : {}),
    ...(opts.grantTypes !== undefined ? { grantTypes: opts.grantTypes } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.thirdParty !== undefined ? { thirdParty: opts.thirdParty } : {}),
    ...(opts.subjectType !== undefined ? { subjectType: opts.subjectType } : {}),
    ...(opts.requirePar !== undefined ? { requirePar: opts.requirePar } : {}),
    ...(typeof opts.ciba === 'string' ? { ciba: opts.ciba } : {}),
    ...(opts.cibaNotify !== undefined ? { cibaNotify: opts.cibaNotify } : {}),
  };
}

const print = (json: boolean | undefined, value: unknown, human: string) =>
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : human);

export function registerOidc(program: Command): void {
  const oidc = program.command('oidc').description('OpenID Provider of each virtual server');
  const client = oidc
    .command('client')
    .description('OIDC clients (relying parties) registered by an administrator, through /idp/api/v1');

  withServerOptions(
    withClientSettings(
      client
        .command('add')
        .description(
          'register a client (first-party unless --third-party); without --secret or --public a secret is generated and shown once',
        )
        .requiredOption('--id <client_id>', 'client id (A-Z a-z 0-9 . _ ~ -)')
        .option('--secret <secret>', 'client secret (at least 16 characters) for client_secret_basic/_post')
        .option('--public', 'public client (no secret; PKCE with S256 required)'),
    ),
    'the client, with a generated secret in "secret"',
  ).action(
    async (
      opts: ServerCommandOptions & SettingOptions & { id: string; secret?: string; public?: boolean },
    ) => {
      const rest = await restClient(opts);
      const added = await rest.call({
        method: 'POST',
        path: `${oidcPath(opts.server)}/clients`,
        body: {
          clientId: opts.id,
          ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
          ...(opts.public ? { public: true } : {}),
          // A CIBA client with nothing else asked for: no browser flows, so no redirect URIs either.
          ...(opts.ciba !== undefined && opts.grantTypes === undefined && opts.redirectUri === undefined
            ? { grantTypes: [] }
            : {}),
          ...settings(opts),
        },
        schema: createdSchema,
        what: 'oidc client add',
      });
      const { secret, ...shown } = added;
      print(
        opts.json,
        added,
        `added ${describeClient(shown)}\nissuer: ${added.issuer}\n${secret !== undefined ? `client secret (shown once): ${secret}\n` : ''}`,
      );
    },
  );

  withServerOptions(
    client
      .command('list')
      .description("list a server's clients (never their secrets)")
      .option('--limit <n>', 'page size 1–100 (default 100)')
      .option('--marker <marker>', 'next_marker of the previous page'),
    '{"clients": [...], "next_marker": ...}',
  ).action(async (opts: ServerCommandOptions & { limit?: string; marker?: string }) => {
    const rest = await restClient(opts);
    const query = new URLSearchParams();
    if (opts.limit !== undefined) query.set('limit', opts.limit);
    if (opts.marker !== undefined) query.set('marker', opts.marker);
    const page = await rest.call({
      method: 'GET',
      path: `${oidcPath(opts.server)}/clients${query.size > 0 ? `?${query}` : ''}`,
      schema: pageSchema,
      what: 'oidc client list',
    });
    const more = page.next_marker !== null ? `more: --marker ${page.next_marker}\n` : '';
    print(opts.json, page, `${page.clients.map((c) => `${describeClient(c)}\n`).join('')}${more}`);
  });

  withServerOptions(
    client
      .command('show')
      .description('one client (never its secret)')
      .requiredOption('--id <client_id>', 'client id'),
    'the client',
  ).action(async (opts: ServerCommandOptions & { id: string }) => {
    const rest = await restClient(opts);
    const found = await rest.call({
      method: 'GET',
      path: clientPath(opts.server, opts.id),
      schema: clientSchema,
      what: 'oidc client show',
    });
    print(opts.json, found, `${describeClient(found)}\nissuer: ${found.issuer}\n`);
  });

  withServerOptions(
    // The negations come after the positive options: commander then leaves both unset by default.
    withClientSettings(
      client
        .command('update')
        .description(
          'change a client: each option given replaces that setting (repeat --redirect-uri for a list)',
        )
        .requiredOption('--id <client_id>', 'client id'),
    )
      .option('--no-backchannel-logout', 'remove the back-channel logout URI')
      .option('--first-party', 'no consent page (undoes --third-party)')
      .option('--no-require-par', 'plain authorization requests allowed again')
      .option('--no-ciba', 'switch CIBA off (and drop the notification endpoint)'),
    'the changed client',
  ).action(
    async (
      opts: ServerCommandOptions &
        SettingOptions & { id: string; backchannelLogout?: boolean; firstParty?: boolean },
    ) => {
      const body: Record<string, unknown> = settings(opts);
      if (opts.backchannelLogout === false) body.backchannelLogoutUri = null;
      if (opts.firstParty) body.thirdParty = false;
      if (opts.ciba === false) body.ciba = null;
      if (Object.keys(body).length === 0) throw new Error('nothing to change: give at least one setting');
      const rest = await restClient(opts);
      const changed = await rest.call({
        method: 'PATCH',
        path: clientPath(opts.server, opts.id),
        body,
        schema: clientSchema,
        what: 'oidc client update',
      });
      print(opts.json, changed, `updated ${describeClient(changed)}\n`);
    },
  );

  withServerOptions(
    client
      .command('remove')
      .description('remove a client; its tokens stop working at their next use')
      .requiredOption('--id <client_id>', 'client id'),
    '{"removed": client_id}',
  ).action(async (opts: ServerCommandOptions & { id: string }) => {
    const rest = await restClient(opts);
    await rest.call({
      method: 'DELETE',
      path: clientPath(opts.server, opts.id),
      schema: undefined,
      what: 'oidc client remove',
    });
    print(opts.json, { removed: opts.id }, `removed ${opts.server}/${opts.id}\n`);
  });

  withServerOptions(
    oidc
      .command('rotate-keys')
      .description(
        'retire the signing keys, promote the published next keys to signing, publish new next keys',
      ),
    'the keys after the rotation: [{kid, alg, state, ...}]',
  ).action(async (opts: ServerCommandOptions) => {
    const rest = await restClient(opts);
    const { keys } = await rest.call({
      method: 'POST',
      path: `${oidcPath(opts.server)}/keys/rotate`,
      schema: keysSchema,
      what: 'oidc rotate-keys',
    });
    print(opts.json, keys, keys.map((k) => `${k.alg} ${k.state.padEnd(7)} ${k.kid}\n`).join(''));
  });
}
