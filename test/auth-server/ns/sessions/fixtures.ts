// Shared set-up for NS session suites: a migrated database, a virtual server, a session service on a FixedClock.
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { createSessionService, type SessionService } from '../../../../auth-server/ns/sessions/service.js';

export const publicUrl = 'https://id.example.test';
export const silentLogger = createLogger({ level: 'silent', format: 'json' });

export interface SessionFixture {
  clock: FixedClock;
  kv: MemoryKv;
  service: SessionService;
  serverId: string;
}

/** Empties the session tables (children first) and recreates server `acme` with a 120 s login timeout. */
export async function sessionFixture(knex: Knex): Promise<SessionFixture> {
  await knex('ns_login_codes').del();
  await knex('ns_sessions').del();
  await knex('ns_api_keys').del();
  await knex('ns_virtual_servers').del();
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12, 0, 0));
  const kv = new MemoryKv({ clock });
  const servers = createVirtualServerRepository(knex, clock);
  const server = await servers.create({
    name: 'acme',
    displayName: 'ACME',
    policy: { loginTimeoutSeconds: 120 },
  });
  const service = createSessionService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger: silentLogger,
    servers,
    publicUrl,
  });
  return { clock, kv, service, serverId: server.id };
}

/** Rows of a table, for "nothing changed" assertions. */
export async function snapshot(knex: Knex, table: string): Promise<unknown[]> {
  return knex(table)
    .select('*')
    .orderBy(table === 'ns_login_codes' ? 'code_hash' : 'id');
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}
