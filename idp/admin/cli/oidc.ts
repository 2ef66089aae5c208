// `nextauth oidc client add|list|remove` and `nextauth oidc rotate-keys`: OIDC clients and signing keys of a
// virtual server's OpenID Provider. The IdP management REST (/idp/api/v1) does not exist yet, so these work
// on the IdP database named by the configuration, as `nextauth sfs` does; a running server sees a client at
// its next request and rotated keys within 30 s. Once the REST lands they become its clients (DESIGN.md §5).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { systemClock, systemRandom } from '../../../auth-server/common/clock.js';
import { generatedSecretFiles } from '../../../auth-server/common/config/generated-secrets.js';
import { loadConfig, settings } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { ConflictError } from '../../../auth-server/common/db/errors.js';
import { migrationStatus } from '../../../auth-server/common/db/migrate.js';
import {
  clientGrantTypes,
  createClientRepository,
  defaultGrantTypes,
  type OidcClient,
} from '../../oidc/clients.js';
import { issuerFor } from '../../oidc/provider.js';
import { createSigningKeyStore, type SigningKeyInfo } from '../../oidc/signing-keys.js';

interface IdpContext {
  db: Knex;
  secretKey: string;
  publicUrl: string;
}

/** NEXTAUTH_SECRET_KEY (or `_FILE`), else the key embedded mode generated into the data directory. */
async function secretKeyOf(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured !== undefined) return configured;
  const path = join(dataDir, generatedSecretFiles.secretKey);
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (key.length >= 16) return key;
  } catch {
    // Reported below.
  }
  throw new Error(
    `${settings.secretKey.env} is not set and ${path} does not exist: set it, or NEXTAUTH_DATA_DIR to the data directory of the running system`,
  );
}

async function withIdp<T>(run: (idp: IdpContext) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, { mode: 'embedded' });
  const secretKey = await secretKeyOf(config.secretKey, config.dataDir);
  const db = openDb({ uri: config.db.idp.uri, dataDir: config.dataDir, service: 'idp' });
  try {
    const { pending } = await migrationStatus(db, 'idp');
    if (pending.length > 0)
      throw new Error(`idp database has ${pending.length} pending migration(s); run \`nextauth migrate\``);
    return await run({ db, secretKey, publicUrl: config.publicUrl });
  } finally {
    await db.destroy();
  }
}

/** Validation and conflicts as one readable line. */
function explain(err: unknown): never {
  if (err instanceof ZodError)
    throw new Error(
      `invalid client: ${err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
    );
  if (err instanceof ConflictError) throw new Error(`${err.key} already exists`);
  throw err;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function clientJson(c: OidcClient) {
  return {
    server: c.server,
    clientId: c.clientId,
    public: c.public,
    tokenEndpointAuthMethod: c.public ? 'none' : 'client_secret_basic',
    redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris,
    backchannelLogoutUri: c.backchannelLogoutUri,
    grantTypes: c.grantTypes,
    ...(c.name !== null ? { name: c.name } : {}),
    thirdParty: c.thirdParty,
    createdAt: c.createdAt.toISOString(),
  };
}

function describeClient(c: OidcClient): string {
  const kind = `${c.public ? 'public, PKCE' : 'confidential, client_secret_basic'}${c.thirdParty ? ', third-party' : ''}`;
  const logout =
    (c.postLogoutRedirectUris.length > 0 ? ` logout: ${c.postLogoutRedirectUris.join(' ')}` : '') +
    (c.backchannelLogoutUri !== null ? ` back-channel logout: ${c.backchannelLogoutUri}` : '');
  return `${c.server}/${c.clientId} (${kind}): ${c.redirectUris.join(' ') || '-'}${logout} [${c.grantTypes.join(', ')}]`;
}

function keyJson(k: SigningKeyInfo) {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    createdAt: k.createdAt.toISOString(),
    activatedAt: k.activatedAt?.toISOString() ?? null,
    retiredAt: k.retiredAt?.toISOString() ?? null,
  };
}

interface AddOptions {
  server: string;
  id: string;
  secret?: string;
  public?: boolean;
  redirectUri: string[];
  postLogoutRedirectUri: string[];
  backchannelLogoutUri?: string;
  grantTypes?: string;
  name?: string;
  thirdParty?: boolean;
  json?: boolean;
}

export function registerOidc(program: Command): void {
  const oidc = program.command('oidc').description('OpenID Provider of each virtual server');
  const client = oidc
    .command('client')
    .description('OIDC clients (relying parties) registered by an administrator');

  client
    .command('add')
    .description(
      'register a client (first-party unless --third-party); without --secret or --public a secret is generated and shown once',
    )
    .option('--server <name>', 'virtual server', 'default')
    .requiredOption('--id <client_id>', 'client id (A-Z a-z 0-9 . _ ~ -)')
    .option('--secret <secret>', 'client secret (at least 16 characters) for client_secret_basic/_post')
    .option('--public', 'public client (no secret; PKCE with S256 required)')
    .option('--redirect-uri <uri>', 'allowed redirect URI (repeat for more)', collect, [])
    .option(
      '--post-logout-redirect-uri <uri>',
      'where RP-initiated logout may return to (repeat for more)',
      collect,
      [],
    )
    .option('--backchannel-logout-uri <uri>', 'where the IdP posts logout tokens when a user logs out')
    .option(
      '--grant-types <list>',
      `comma-separated, of ${clientGrantTypes.join(', ')} (default: ${defaultGrantTypes.join(',')})`,
    )
    .option('--name <name>', 'client name (shown on the consent and logout pages)')
    .option('--third-party', 'not your own application: users are asked for consent')
    .option('--json', 'machine-readable output')
    .action(async (opts: AddOptions) => {
      const { added, issuer } = await withIdp(async ({ db, secretKey, publicUrl }) => ({
        issuer: issuerFor(publicUrl, opts.server),
        added: await createClientRepository({ knex: db, secretKey, clock: systemClock, random: systemRandom })
          .add({
            server: opts.server,
            clientId: opts.id,
            ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
            public: opts.public === true,
            redirectUris: opts.redirectUri,
            postLogoutRedirectUris: opts.postLogoutRedirectUri,
            ...(opts.backchannelLogoutUri !== undefined
              ? { backchannelLogoutUri: opts.backchannelLogoutUri }
              : {}),
            ...(opts.grantTypes !== undefined
              ? { grantTypes: opts.grantTypes.split(',').map((g) => g.trim()) as never }
              : {}),
            ...(opts.name !== undefined ? { name: opts.name } : {}),
            thirdParty: opts.thirdParty === true,
          })
          .catch(explain),
      }));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ...clientJson(added.client), issuer, ...(added.secret ? { secret: added.secret } : {}) })}\n`,
        );
        return;
      }
      process.stdout.write(`added ${describeClient(added.client)}\nissuer: ${issuer}\n`);
      if (added.secret) process.stdout.write(`client secret (shown once): ${added.secret}\n`);
    });

  client
    .command('list')
    .description('list registered clients')
    .option('--server <name>', 'only this virtual server')
    .option('--json', 'machine-readable output')
    .action(async (opts: { server?: string; json?: boolean }) => {
      const clients = await withIdp(({ db, secretKey }) =>
        createClientRepository({ knex: db, secretKey, clock: systemClock, random: systemRandom }).list(
          opts.server,
        ),
      );
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(clients.map(clientJson))}\n`);
        return;
      }
      for (const c of clients) process.stdout.write(`${describeClient(c)}\n`);
    });

  client
    .command('remove')
    .description('remove a client; its tokens stop working at their next use')
    .option('--server <name>', 'virtual server', 'default')
    .requiredOption('--id <client_id>', 'client id')
    .action(async (opts: { server: string; id: string }) => {
      const removed = await withIdp(({ db, secretKey }) =>
        createClientRepository({ knex: db, secretKey, clock: systemClock, random: systemRandom }).remove(
          opts.server,
          opts.id,
        ),
      );
      if (!removed) throw new Error(`no client ${opts.id} on ${opts.server}`);
      process.stdout.write(`removed ${opts.server}/${opts.id}\n`);
    });

  oidc
    .command('rotate-keys')
    .description('retire the signing keys, promote the published next keys to signing, publish new next keys')
    .option('--server <name>', 'virtual server', 'default')
    .option('--json', 'machine-readable output')
    .action(async (opts: { server: string; json?: boolean }) => {
      const keys = await withIdp(({ db, secretKey }) =>
        createSigningKeyStore({ knex: db, secretKey, clock: systemClock }).rotate(opts.server),
      );
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(keys.map(keyJson))}\n`);
        return;
      }
      for (const k of keys) process.stdout.write(`${k.alg} ${k.state.padEnd(7)} ${k.kid}\n`);
    });
}
