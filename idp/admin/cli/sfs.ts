// `nextauth sfs server create|list`: registers NS virtual servers (with their PIN policy) at this SFS.
// No SFS management REST exists yet, so this works on the SFS database named by the configuration, as
// `nextauth migrate` does; once the REST lands it becomes a client of it (DESIGN.md §5).
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { Knex } from 'knex';
import { systemClock } from '../../../auth-server/common/clock.js';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrationStatus } from '../../../auth-server/common/db/migrate.js';
import { SfsError } from '../../../auth-server/sfs/errors.js';
import type { SfsServer } from '../../../auth-server/sfs/servers/model.js';
import { createSfsServerRepository } from '../../../auth-server/sfs/servers/repository.js';

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

async function withSfsDb<T>(run: (db: Knex) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, { mode: 'embedded' });
  const db = openDb({ uri: config.db.sfs.uri, dataDir: config.dataDir, service: 'sfs' });
  try {
    const { pending } = await migrationStatus(db, 'sfs');
    if (pending.length > 0)
      throw new Error(`sfs database has ${pending.length} pending migration(s); run \`nextauth migrate\``);
    return await run(db);
  } finally {
    await db.destroy();
  }
}

/** SfsError as one readable line: the code, and for invalid input which fields. */
function explain(err: unknown): never {
  if (!(err instanceof SfsError)) throw err;
  const fields = (err.issues ?? []).map((i) => `${i.path || 'input'}: ${i.message}`).join('; ');
  throw new Error(`${err.message} (${err.code})${fields ? `: ${fields}` : ''}`);
}

function describe(server: SfsServer): string {
  const p = server.policy;
  const block = p.blockAfterLockouts === 0 ? 'never blocks' : `blocks at lockout ${p.blockAfterLockouts}`;
  return (
    `${server.id}: ${p.maxAttempts} attempts, lockout ${p.lockoutSeconds}s doubling to ${p.maxLockoutSeconds}s, ` +
    `${block}${server.keyThumbprint ? `, key ${server.keyThumbprint}` : ''}`
  );
}

function toJson(server: SfsServer) {
  return {
    id: server.id,
    policy: server.policy,
    keyThumbprint: server.keyThumbprint,
    createdAt: server.createdAt.toISOString(),
  };
}

interface CreateOptions {
  server: string;
  maxAttempts?: number;
  lockoutSeconds?: number;
  maxLockoutSeconds?: number;
  blockAfterLockouts?: number;
  publicKeyFile?: string;
  json?: boolean;
}

export function registerSfs(program: Command): void {
  const sfs = program.command('sfs').description('Second Factor Server administration');
  const server = sfs.command('server').description('NS virtual servers registered at this SFS');

  server
    .command('create')
    .description('register an NS virtual server with its PIN lockout policy')
    .requiredOption('--server <id>', 'NS virtual server id (the attestation audience)')
    .option('--max-attempts <n>', 'wrong PINs before a lockout (default 5)', integer)
    .option('--lockout-seconds <s>', 'first lockout; doubles with each further one (default 300)', integer)
    .option('--max-lockout-seconds <s>', 'ceiling of the doubled lockout (default 86400)', integer)
    .option(
      '--block-after-lockouts <n>',
      'lockout number that blocks the PIN for good, 0 = never (default 5)',
      integer,
    )
    .option('--public-key-file <path>', "the NS server's P-256 public key as a JWK file")
    .option('--json', 'machine-readable output')
    .action(async (opts: CreateOptions) => {
      const policy = Object.fromEntries(
        Object.entries({
          maxAttempts: opts.maxAttempts,
          lockoutSeconds: opts.lockoutSeconds,
          maxLockoutSeconds: opts.maxLockoutSeconds,
          blockAfterLockouts: opts.blockAfterLockouts,
        }).filter(([, v]) => v !== undefined),
      );
      let publicJwk: unknown;
      if (opts.publicKeyFile) {
        try {
          publicJwk = JSON.parse(await readFile(opts.publicKeyFile, 'utf8'));
        } catch (err) {
          throw new Error(`cannot read a JWK from ${opts.publicKeyFile}: ${(err as Error).message}`);
        }
      }
      const created = await withSfsDb((db) =>
        createSfsServerRepository(db, systemClock)
          .create({ id: opts.server, policy, ...(publicJwk !== undefined ? { publicJwk } : {}) })
          .catch(explain),
      );
      process.stdout.write(
        opts.json ? `${JSON.stringify(toJson(created))}\n` : `registered ${describe(created)}\n`,
      );
    });

  server
    .command('list')
    .description('list the NS virtual servers registered at this SFS')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const servers = await withSfsDb((db) => createSfsServerRepository(db, systemClock).list());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(servers.map(toJson))}\n`);
        return;
      }
      for (const s of servers) process.stdout.write(`${describe(s)}\n`);
    });
}
