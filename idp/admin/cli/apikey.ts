// `nextauth apikey create|list|revoke`: API keys of a virtual server through the NS REST API
// (`/ns/api/v2/servers/{server}/apikeys`), as root. The secret is printed once, alone on line 1.
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, serverApiPath, withServerOptions } from './server-options.js';

const roles = ['sessions', 'users', 'accounts', 'servers', 'audit', 'root'] as const;

const keySchema = z
  .object({
    id: z.string(),
    server: z.string(),
    name: z.string(),
    roles: z.array(z.string()),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
  })
  .loose();
const createdSchema = keySchema.extend({ key: z.string() });
const listSchema = z.object({ apiKeys: z.array(keySchema) });

function role(value: string, previous: string[] = []): string[] {
  if (!(roles as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${roles.join(', ')}`);
  return [...previous, value];
}

const keysPath = (server: string) => `${serverApiPath(server)}/apikeys`;

export function registerApiKey(program: Command): void {
  const apikey = program.command('apikey').description('API keys of a virtual server, through the REST API');

  withServerOptions(
    apikey
      .command('create')
      .description('create a key; its secret is printed once (alone on the first line) and never again')
      .requiredOption('--name <text>', 'what the key is for, e.g. the backend that uses it')
      .requiredOption('--role <role>', `a role of the key, repeatable: ${roles.join(', ')}`, role),
    'the key with its secret in "key"',
  ).action(async (opts: ServerCommandOptions & { name: string; role: string[] }) => {
    const client = await restClient(opts);
    const created = await client.call({
      method: 'POST',
      path: keysPath(opts.server),
      body: { name: opts.name, roles: opts.role },
      schema: createdSchema,
      what: 'apikey create',
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(created)}\n`);
      return;
    }
    process.stdout.write(`${created.key}\n`);
    if (process.stdout.isTTY) {
      process.stdout.write(
        `Key ${created.id} (${created.roles.join(', ')}) for ${created.server}: store the secret now;\n`,
      );
      process.stdout.write('it is not shown again. Send it as the X-apikey header.\n');
    }
  });

  withServerOptions(
    apikey.command('list').description("list the server's active keys (never their secrets)"),
    '{"apiKeys": [...]}',
  ).action(async (opts: ServerCommandOptions) => {
    const client = await restClient(opts);
    const { apiKeys } = await client.call({
      method: 'GET',
      path: keysPath(opts.server),
      schema: listSchema,
      what: 'apikey list',
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ apiKeys })}\n`);
      return;
    }
    for (const k of apiKeys) {
      process.stdout.write(
        `${k.id}\t${k.name}\t${k.roles.join(',')}\t${k.createdAt}\tby ${k.createdBy ?? '-'}\n`,
      );
    }
  });

  withServerOptions(
    apikey
      .command('revoke')
      .description('revoke a key: it stops working at once')
      .argument('<id>', 'the key id'),
    '{"revoked": id}',
  ).action(async (id: string, opts: ServerCommandOptions) => {
    const client = await restClient(opts);
    await client.call({
      method: 'DELETE',
      path: `${keysPath(opts.server)}/${encodeURIComponent(id)}`,
      schema: undefined,
      what: 'apikey revoke',
    });
    process.stdout.write(opts.json ? `${JSON.stringify({ revoked: id })}\n` : `revoked ${id}\n`);
  });
}
