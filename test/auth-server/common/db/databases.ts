// Runs a suite once per database: SQLite always, PostgreSQL and MariaDB when configured (required in CI).
// Each run gets a fresh, randomly named database that is dropped afterwards, so concurrent runs never meet.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { openDb, type PoolOptions } from '../../../../auth-server/common/db/connect.js';
import { pingDb } from '../../../../auth-server/common/db/health.js';
import { requireService } from '../../../helpers/services.js';

export type TestDialect = 'sqlite' | 'postgres' | 'mariadb';

export interface TestDatabase {
  dialect: TestDialect;
  /** The suite's main handle (pool of up to 10 on servers). */
  knex: Knex;
  /**
   * Another handle on the same database; closed with the suite. On SQLite that is another connection, good
   * for racing single statements; not for overlapping transactions, which deadlock in one process because
   * better-sqlite3 waits for locks synchronously.
   */
  open(pool?: PoolOptions): Knex;
}

interface Provisioned {
  open(pool?: PoolOptions): Knex;
  drop(): Promise<void>;
}

/** Answers when a PostgreSQL or MySQL/MariaDB server is reachable at `uri` (for requireService). */
export async function probeDatabase(uri: string): Promise<void> {
  const knex = openDb({ uri, dataDir: tmpdir(), service: 'ns', pool: { max: 1 } });
  try {
    await pingDb(knex, 3000);
  } finally {
    await knex.destroy();
  }
}

async function provisionSqlite(): Promise<Provisioned> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-db-'));
  return {
    open: () => openDb({ dataDir, service: 'ns' }),
    drop: () => rm(dataDir, { recursive: true, force: true }),
  };
}

async function provisionServer(baseUri: string, dialect: 'postgres' | 'mariadb'): Promise<Provisioned> {
  const name = `nextauth_t_${randomBytes(6).toString('hex')}`;
  const admin = openDb({ uri: baseUri, dataDir: tmpdir(), service: 'ns', pool: { max: 1 } });
  const quoted = dialect === 'postgres' ? `"${name}"` : `\`${name}\``;
  await admin.raw(`create database ${quoted}`);
  const url = new URL(baseUri);
  url.pathname = `/${name}`;
  const uri = url.toString();
  return {
    open: (pool) => openDb({ uri, dataDir: tmpdir(), service: 'ns', pool: pool ?? { max: 10 } }),
    async drop() {
      try {
        await admin.raw(`drop database if exists ${quoted}`);
      } finally {
        await admin.destroy();
      }
    },
  };
}

/** Declares `describe(title [dialect])` for each database; `body` reads the live database through `db()`. */
export function describeEachDatabase(title: string, body: (db: () => TestDatabase) => void): void {
  for (const dialect of ['sqlite', 'postgres', 'mariadb'] as const) {
    describe(`${title} [${dialect}]`, () => {
      let current: TestDatabase | undefined;
      let provisioned: Provisioned | undefined;
      const handles: Knex[] = [];

      before(async function () {
        if (dialect === 'sqlite') provisioned = await provisionSqlite();
        else {
          const uri = await requireService(this, dialect, probeDatabase);
          provisioned = await provisionServer(uri, dialect);
        }
        const { open } = provisioned;
        const track = (pool?: PoolOptions) => {
          const handle = open(pool);
          handles.push(handle);
          return handle;
        };
        current = { dialect, knex: track(), open: track };
      });

      body(() => {
        if (!current) throw new Error('database not provisioned');
        return current;
      });

      // Registered after the body, so the body's own `after` hooks still find the database open.
      after(async () => {
        await Promise.all(handles.map((h) => h.destroy()));
        await provisioned?.drop();
      });
    });
  }
}
