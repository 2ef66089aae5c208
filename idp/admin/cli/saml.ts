// `nextauth saml sp add|update|list|remove`: the SAML service providers of a virtual server's IdP, registered from
// their metadata (a file read here, or a URL the IdP fetches through its outbound allow-list); `nextauth saml
// keys|rotate-keys`: its key pairs. All through the IdP management API (`/idp/api/v1`) of the running system.
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, withServerOptions } from './server-options.js';

const spSchema = z
  .object({
    server: z.string(),
    entityId: z.string(),
    idpEntityId: z.string(),
    acs: z.array(z.string()),
    singleLogout: z.array(z.string()),
    authnRequestsSigned: z.boolean(),
    sign: z.string(),
    encrypt: z.boolean(),
    attributes: z.record(z.string(), z.string()),
    nameIdFormat: z.string().nullable().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .loose();
type Sp = z.output<typeof spSchema>;
const listSchema = z.object({ sps: z.array(spSchema) });

const keySchema = z
  .object({
    kid: z.string(),
    use: z.string(),
    state: z.string(),
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
    retiredAt: z.string().nullable(),
    notAfter: z.string(),
  })
  .loose();
const keysSchema = z.object({ keys: z.array(keySchema) });
const keyUseChoices = ['signing', 'encryption', 'both'] as const;

function keyUse(value: string): string {
  if (!(keyUseChoices as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${keyUseChoices.join(', ')}`);
  return value;
}

const describeKeys = (keys: z.output<typeof keySchema>[]) =>
  keys
    .map(
      (k) =>
        `${k.use.padEnd(10)} ${k.state.padEnd(7)} ${k.kid} created ${k.createdAt}${k.retiredAt ? ` retired ${k.retiredAt}` : ''}\n`,
    )
    .join('');

const samlPath = (server: string) => `/idp/api/v1/servers/${encodeURIComponent(server)}/saml`;
const spsPath = (server: string) => `/idp/api/v1/servers/${encodeURIComponent(server)}/saml/sps`;

const signModes = ['assertion', 'response', 'both'] as const;

function signMode(value: string): string {
  if (!(signModes as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${signModes.join(', ')}`);
  return value;
}

const nameIdFormatChoices = ['persistent', 'email', 'transient', 'unspecified'] as const;

function nameIdFormat(value: string): string {
  if (!(nameIdFormatChoices as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${nameIdFormatChoices.join(', ')}`);
  return value;
}

/** For update: a format, or `metadata` to drop the SP's own and follow the request and the metadata again. */
function nameIdFormatOrMetadata(value: string): string {
  return value === 'metadata' ? value : nameIdFormat(value);
}

/** `NAME=claim`, repeatable. */
function attribute(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError('expected NAME=claim');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function describeSp(sp: Sp): string {
  const how = [
    `sign ${sp.sign}`,
    ...(sp.encrypt ? ['encrypted'] : []),
    ...(sp.authnRequestsSigned ? ['signed requests'] : []),
    ...(sp.nameIdFormat ? [`nameid ${sp.nameIdFormat}`] : []),
  ].join(', ');
  const attributes = Object.entries(sp.attributes)
    .map(([name, claim]) => `${name}=${claim}`)
    .join(' ');
  return `${sp.server} ${sp.entityId} (${how}): ${sp.acs.join(' ')}${attributes ? ` [${attributes}]` : ''}`;
}

const print = (json: boolean | undefined, value: unknown, human: string) =>
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : human);

export function registerSaml(program: Command): void {
  const saml = program.command('saml').description('SAML IdP of each virtual server');
  withServerOptions(
    saml
      .command('keys')
      .description("list the IdP's key pairs as its metadata publishes them (current, next, retired)"),
    '{"keys": [{kid, use, state, certificate, ...}]}',
  ).action(async (opts: ServerCommandOptions) => {
    const rest = await restClient(opts);
    const list = await rest.call({
      method: 'GET',
      path: `${samlPath(opts.server)}/keys`,
      schema: keysSchema,
      what: 'saml keys',
    });
    print(opts.json, list, describeKeys(list.keys));
  });

  withServerOptions(
    saml
      .command('rotate-keys')
      .description(
        'retire the current key pair, promote the published next one, publish a new next one (after SPs re-read the metadata)',
      )
      .option('--use <use>', `which pair: ${keyUseChoices.join(', ')} (default both)`, keyUse),
    'the keys after the rotation: {"keys": [...]}',
  ).action(async (opts: ServerCommandOptions & { use?: string }) => {
    const rest = await restClient(opts);
    const list = await rest.call({
      method: 'POST',
      path: `${samlPath(opts.server)}/keys/rotate`,
      body: opts.use !== undefined ? { use: opts.use } : {},
      schema: keysSchema,
      what: 'saml rotate-keys',
    });
    print(opts.json, list, describeKeys(list.keys));
  });

  const sp = saml.command('sp').description('SAML service providers, registered from their metadata');

  withServerOptions(
    sp
      .command('add')
      .description('register an SP from its metadata (a file, or an http(s) URL the IdP fetches)')
      .requiredOption('--metadata <file|url>', "the SP's SAML metadata")
      .option('--sign <what>', `what to sign: ${signModes.join(', ')} (default both)`, signMode)
      .option('--encrypt', "encrypt assertions (AES-256-GCM) with the SP's encryption certificate")
      .option(
        '--attribute <NAME=claim>',
        'send a claim (sub, userid, name, email, groups, attr:NAME) as attribute NAME (repeat)',
        attribute,
      )
      .option(
        '--nameid-format <format>',
        `the only NameID format the SP gets (${nameIdFormatChoices.join(', ')}), overriding its metadata's`,
        nameIdFormat,
      ),
    'the SP',
  ).action(
    async (
      opts: ServerCommandOptions & {
        metadata: string;
        sign?: string;
        encrypt?: boolean;
        attribute?: Record<string, string>;
        nameidFormat?: string;
      },
    ) => {
      const source = /^https?:\/\//i.test(opts.metadata)
        ? { metadataUrl: opts.metadata }
        : { metadata: await readFile(opts.metadata, 'utf8') };
      const rest = await restClient(opts);
      const added = await rest.call({
        method: 'POST',
        path: spsPath(opts.server),
        body: {
          ...source,
          ...(opts.sign !== undefined ? { sign: opts.sign } : {}),
          ...(opts.encrypt ? { encrypt: true } : {}),
          ...(opts.attribute !== undefined ? { attributes: opts.attribute } : {}),
          ...(opts.nameidFormat !== undefined ? { nameIdFormat: opts.nameidFormat } : {}),
        },
        schema: spSchema,
        what: 'saml sp add',
      });
      print(opts.json, added, `added ${describeSp(added)}\nIdP metadata: ${added.idpEntityId}\n`);
    },
  );

  withServerOptions(sp.command('list').description("list a server's SPs"), '{"sps": [...]}').action(
    async (opts: ServerCommandOptions) => {
      const rest = await restClient(opts);
      const list = await rest.call({
        method: 'GET',
        path: spsPath(opts.server),
        schema: listSchema,
        what: 'saml sp list',
      });
      print(opts.json, list, list.sps.map((s) => `${describeSp(s)}\n`).join(''));
    },
  );

  withServerOptions(
    sp
      .command('update')
      .description('change an SP in place: new metadata (same entityID) and/or its settings')
      .requiredOption('--entity-id <id>', "the SP's entityID")
      .option(
        '--metadata <file|url>',
        "the SP's new SAML metadata (a file, or an http(s) URL the IdP fetches)",
      )
      .option('--sign <what>', `what to sign: ${signModes.join(', ')}`, signMode)
      .option('--encrypt', "encrypt assertions with the SP's encryption certificate")
      .option('--no-encrypt', 'stop encrypting assertions')
      .option(
        '--attribute <NAME=claim>',
        'the attribute mapping, replacing the old one (repeat; as for add)',
        attribute,
      )
      .option('--no-attributes', 'send no attributes any more')
      .option(
        '--nameid-format <format>',
        `the only NameID format the SP gets (${nameIdFormatChoices.join(', ')}), or metadata: the request's or the metadata's again`,
        nameIdFormatOrMetadata,
      ),
    'the SP',
  ).action(
    async (
      opts: ServerCommandOptions & {
        entityId: string;
        metadata?: string;
        sign?: string;
        encrypt?: boolean;
        attribute?: Record<string, string>;
        attributes?: boolean;
        nameidFormat?: string;
      },
    ) => {
      if (opts.attribute !== undefined && opts.attributes === false)
        throw new Error('give --attribute or --no-attributes, not both');
      const source =
        opts.metadata === undefined
          ? {}
          : /^https?:\/\//i.test(opts.metadata)
            ? { metadataUrl: opts.metadata }
            : { metadata: await readFile(opts.metadata, 'utf8') };
      const body = {
        ...source,
        ...(opts.sign !== undefined ? { sign: opts.sign } : {}),
        ...(opts.encrypt !== undefined ? { encrypt: opts.encrypt } : {}),
        ...(opts.attribute !== undefined ? { attributes: opts.attribute } : {}),
        ...(opts.attributes === false ? { attributes: {} } : {}),
        ...(opts.nameidFormat !== undefined
          ? { nameIdFormat: opts.nameidFormat === 'metadata' ? null : opts.nameidFormat }
          : {}),
      };
      if (Object.keys(body).length === 0)
        throw new Error(
          'nothing to change: give --metadata, --sign, --encrypt/--no-encrypt, --attribute or --nameid-format',
        );
      const rest = await restClient(opts);
      const updated = await rest.call({
        method: 'PATCH',
        path: `${spsPath(opts.server)}/${encodeURIComponent(opts.entityId)}`,
        body,
        schema: spSchema,
        what: 'saml sp update',
      });
      print(opts.json, updated, `updated ${describeSp(updated)}\n`);
    },
  );

  withServerOptions(
    sp
      .command('remove')
      .description('remove an SP: its requests are refused from now on')
      .requiredOption('--entity-id <id>', "the SP's entityID"),
    '{"removed": entityID}',
  ).action(async (opts: ServerCommandOptions & { entityId: string }) => {
    const rest = await restClient(opts);
    await rest.call({
      method: 'DELETE',
      path: `${spsPath(opts.server)}/${encodeURIComponent(opts.entityId)}`,
      schema: undefined,
      what: 'saml sp remove',
    });
    print(opts.json, { removed: opts.entityId }, `removed ${opts.server} ${opts.entityId}\n`);
  });
}
