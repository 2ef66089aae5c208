// Readiness probe for a database handle (`/readyz`).
import type { Knex } from 'knex';

/** Resolves when the database answers `select 1` within `timeoutMs`, throws otherwise. */
export async function pingDb(knex: Knex, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // A race rather than knex's query timeout: that one starts only after a pool connection was acquired,
  // and acquiring is what hangs when the server is gone.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([knex.raw('select 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
