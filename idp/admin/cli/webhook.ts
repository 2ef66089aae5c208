// `nextauth webhook create|list|delete|deliveries`: CloudEvents webhooks of a virtual server through the NS
// REST API (`/ns/api/v2/servers/{server}/webhooks`), as root. The signing secret is printed once, alone on
// line 1.
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { restClient } from './rest-client.js';
import { type ServerCommandOptions, serverApiPath, withServerOptions } from './server-options.js';

const eventTypes = ['LOGIN', 'LOGOUT', 'REGISTER', 'BLOCK', 'PINLOCKOUT'] as const;
const deliveryStates = ['pending', 'delivering', 'delivered', 'failed'] as const;

const webhookSchema = z
  .object({
    id: z.string(),
    server: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
  })
  .loose();
const createdSchema = webhookSchema.extend({ secret: z.string() });
const listSchema = z.object({ webhooks: z.array(webhookSchema) });
const deliveriesSchema = z.object({
  deliveries: z.array(
    z
      .object({
        id: z.string(),
        eventId: z.string(),
        eventType: z.string(),
        state: z.string(),
        attempts: z.number(),
        nextAttemptAt: z.string().nullable(),
        lastStatus: z.number().nullable(),
        lastError: z.string().nullable(),
        createdAt: z.string(),
      })
      .loose(),
  ),
});

function eventType(value: string, previous: string[] = []): string[] {
  if (!(eventTypes as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${eventTypes.join(', ')}`);
  return [...previous, value];
}

function state(value: string): string {
  if (!(deliveryStates as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${deliveryStates.join(', ')}`);
  return value;
}

const hooksPath = (server: string) => `${serverApiPath(server)}/webhooks`;

export function registerWebhook(program: Command): void {
  const webhook = program
    .command('webhook')
    .description('CloudEvents webhooks of a virtual server (signed business events), through the REST API');

  withServerOptions(
    webhook
      .command('create')
      .description('subscribe a URL; the signing secret (whsec_…) is printed once, alone on the first line')
      .argument('<target>', 'receiver URL: https, or http for a host in NEXTAUTH_OUTBOUND_ALLOW')
      .requiredOption('--event <type>', `an event type, repeatable: ${eventTypes.join(', ')}`, eventType)
      .option('--description <text>', 'what the receiver is'),
    'the webhook with its secret in "secret"',
  ).action(async (target: string, opts: ServerCommandOptions & { event: string[]; description?: string }) => {
    const client = await restClient(opts);
    const created = await client.call({
      method: 'POST',
      path: hooksPath(opts.server),
      body: {
        url: target,
        events: opts.event,
        ...(opts.description !== undefined ? { description: opts.description } : {}),
      },
      schema: createdSchema,
      what: 'webhook create',
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(created)}\n`);
      return;
    }
    process.stdout.write(`${created.secret}\n`);
    if (process.stdout.isTTY) {
      process.stdout.write(`Webhook ${created.id} (${created.events.join(', ')}) → ${created.url}:\n`);
      process.stdout.write(
        'store the secret now; it is not shown again (docs/api.md: verifying signatures).\n',
      );
    }
  });

  withServerOptions(
    webhook.command('list').description("list the server's webhooks (never their secrets)"),
    '{"webhooks": [...]}',
  ).action(async (opts: ServerCommandOptions) => {
    const client = await restClient(opts);
    const { webhooks } = await client.call({
      method: 'GET',
      path: hooksPath(opts.server),
      schema: listSchema,
      what: 'webhook list',
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ webhooks })}\n`);
      return;
    }
    for (const w of webhooks)
      process.stdout.write(`${w.id}\t${w.events.join(',')}\t${w.url}\t${w.createdAt}\n`);
  });

  withServerOptions(
    webhook
      .command('delete')
      .description('delete a webhook and its queued deliveries')
      .argument('<id>', 'the webhook id'),
    '{"deleted": id}',
  ).action(async (id: string, opts: ServerCommandOptions) => {
    const client = await restClient(opts);
    await client.call({
      method: 'DELETE',
      path: `${hooksPath(opts.server)}/${encodeURIComponent(id)}`,
      schema: undefined,
      what: 'webhook delete',
    });
    process.stdout.write(opts.json ? `${JSON.stringify({ deleted: id })}\n` : `deleted ${id}\n`);
  });

  withServerOptions(
    webhook
      .command('deliveries')
      .description("a webhook's recent deliveries, newest first, with state and last outcome")
      .argument('<id>', 'the webhook id')
      .option('--state <state>', `only these: ${deliveryStates.join(', ')}`, state)
      .option('--limit <n>', '1–100 (default 20)'),
    '{"deliveries": [...]}',
  ).action(async (id: string, opts: ServerCommandOptions & { state?: string; limit?: string }) => {
    const client = await restClient(opts);
    const query = new URLSearchParams();
    if (opts.state !== undefined) query.set('state', opts.state);
    if (opts.limit !== undefined) query.set('limit', opts.limit);
    const suffix = query.size > 0 ? `?${query}` : '';
    const { deliveries } = await client.call({
      method: 'GET',
      path: `${hooksPath(opts.server)}/${encodeURIComponent(id)}/deliveries${suffix}`,
      schema: deliveriesSchema,
      what: 'webhook deliveries',
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ deliveries })}\n`);
      return;
    }
    for (const d of deliveries) {
      const outcome = d.lastError ?? (d.lastStatus !== null ? `HTTP ${d.lastStatus}` : '-');
      process.stdout.write(
        `${d.id}\t${d.eventType}\t${d.state}\t${d.attempts} attempt(s)\t${outcome}\t${d.createdAt}\n`,
      );
    }
  });
}
