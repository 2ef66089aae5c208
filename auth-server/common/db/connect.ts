// Opens a service's database: SQLite under the data directory by default, PostgreSQL or MySQL/MariaDB by URI.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import knexFactory, { type Knex } from 'knex';

import type { ServiceName } from '../config/load.js';

// One list of services for the whole project; re-exported so storage callers need one import.
export { type ServiceName, serviceNames } from '../config/load.js';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

export interface PoolOptions {
  min?: number;
  max?: number;
}

export interface DbOptions {
  /** `postgres://`, `postgresql://`, `mysql://`, `mariadb://` or `sqlite:`; absent → `<dataDir>/<service>.sqlite`. */
  uri?: string;
  dataDir: string;
  service: ServiceName;
  /** Ignored for SQLite, which always uses one connection (see knexConfigFor). */
  pool?: PoolOptions;
}

/** Raised for a URI that cannot be used; the message never contains the URI (it may hold a password). */
export class DbConfigError extends Error {
  override name = 'DbConfigError';
}

const sqliteBusyTimeoutMs = 5000;
/** Prepared statements kept per SQLite connection (about 60 distinct ones serve a whole QR login). */
export const sqliteStatementCacheSize = 256;

/** Which of our three dialects a knex handle talks to. */
export function dialectOf(knex: Knex): Dialect {
  const client = String(knex.client.config.client);
  if (client === 'better-sqlite3') return 'sqlite';
  if (client === 'pg') return 'postgres';
  return 'mysql';
}

/** Turns options into a knex configuration without touching the file system or the network. */
export function knexConfigFor(options: DbOptions): Knex.Config {
  const uri = options.uri?.trim();
  if (!uri) return sqliteConfig(join(options.dataDir, `${options.service}.sqlite`));
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite':
      return sqliteConfig(sqliteFilename(uri));
    case 'postgres':
    case 'postgresql':
      parseUrl(uri, scheme);
      return {
        client: 'pg',
        // pg's own parser understands sslmode, sockets and the other libpq-style parameters.
        connection: { connectionString: uri },
        pool: poolFor(options.pool),
        ...common,
      };
    case 'mysql':
    case 'mariadb':
      return {
        client: 'mysql2',
        connection: mysqlConnection(parseUrl(uri, scheme)),
        pool: poolFor(options.pool),
        ...common,
      };
    case undefined:
      throw new DbConfigError(
        'database URI has no scheme (expected postgres://, mysql://, mariadb:// or sqlite:)',
      );
    default:
      throw new DbConfigError(
        `unsupported database URI scheme "${scheme}:" (expected postgres://, postgresql://, mysql://, mariadb:// or sqlite:)`,
      );
  }
}

/** Opens the database; creates the SQLite directory (mode 0700) when needed. Connections open lazily. */
export function openDb(options: DbOptions): Knex {
  const config = knexConfigFor(options);
  if (config.client === 'better-sqlite3') {
    const filename = (config.connection as { filename: string }).filename;
    if (filename !== ':memory:')
      mkdirSync(options.uri ? dirname(filename) : options.dataDir, { recursive: true, mode: 0o700 });
  }
  return knexFactory(config);
}

// Knex otherwise inlines bound values into error messages, which would put tokens and secrets into logs.
const common = { compileSqlOnError: false, acquireConnectionTimeout: 10_000 } satisfies Knex.Config;

function poolFor(pool: PoolOptions | undefined): Knex.PoolConfig {
  return { min: pool?.min ?? 0, max: pool?.max ?? 10 };
}

function sqliteConfig(filename: string): Knex.Config {
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    // One connection: SQLite has a single writer anyway, and a second connection in the same process would
    // only trade queueing in the pool for SQLITE_BUSY retries; `:memory:` needs it to stay one database.
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: SqliteConnection) => void) {
        try {
          conn.pragma('journal_mode = WAL');
          // SQLite's advice for WAL: commits no longer wait for an fsync each (they did, one per token
          // issued); a crash of the process loses nothing, a power loss at most the last commits, and the
          // database stays consistent either way (docs/decisions.md, "SQLite durability").
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
          cachePreparedStatements(conn, sqliteStatementCacheSize);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
    ...common,
  };
}

interface SqliteConnection {
  pragma(source: string): unknown;
  prepare(source: string): unknown;
}

/** Statements worth keeping: the same SQL text recurs on every request (knex binds values as `?`). */
const reusable = /^\s*(select|insert|update|delete|with|begin|commit|rollback)\b/i;
/** Transaction-internal statements whose text carries a fresh name: neither kept nor a schema change. */
const savepoints = /^\s*(savepoint|release|rollback\s+to)\b/i;

/**
 * knex's better-sqlite3 client prepares every statement anew (`connection.prepare(sql)` per query), which
 * costs as much as running a small one. This keeps the last `max` prepared statements per connection by
 * SQL text (least recently used out). Safe because better-sqlite3 runs a statement to completion
 * synchronously (knex uses `all`/`run`, never `iterate`), binds values per call, and SQLite re-prepares a
 * statement by itself after a schema change from another connection; DDL on this connection (migrations)
 * clears the cache anyway. Nothing here sets per-statement modes (`safeIntegers`) that a reuse could carry.
 */
export function cachePreparedStatements(conn: { prepare(source: string): unknown }, max: number): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (source: string) => {
    const cached = cache.get(source);
    if (cached !== undefined) {
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const statement = prepare(source);
    if (reusable.test(source)) {
      cache.set(source, statement);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
    } else if (!savepoints.test(source)) {
      // CREATE / ALTER / DROP / PRAGMA: statements prepared before may describe an old schema.
      cache.clear();
    }
    return statement;
  };
}

function sqliteFilename(uri: string): string {
  const rest = uri.slice('sqlite:'.length);
  if (rest === ':memory:' || rest === '//:memory:') return ':memory:';
  if (rest.startsWith('//')) {
    // sqlite:///abs/path — an empty authority followed by an absolute path.
    const path = rest.slice(2);
    if (!path.startsWith('/'))
      throw new DbConfigError(
        'sqlite URI must be sqlite:///absolute/path, sqlite:relative/path or sqlite::memory:',
      );
    return decodeURIComponent(path);
  }
  if (rest === '')
    throw new DbConfigError(
      'sqlite URI names no file (expected sqlite:///absolute/path or sqlite:relative/path)',
    );
  return decodeURIComponent(rest);
}

function parseUrl(uri: string, scheme: string): URL {
  try {
    return new URL(uri);
  } catch {
    // The URL parser's own error carries the input (and so the password): replace it.
    throw new DbConfigError(`database URI with scheme "${scheme}:" is not a valid URL`);
  }
}

function mysqlConnection(url: URL): Knex.MySql2ConnectionConfig {
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname) throw new DbConfigError('mysql URI names no host');
  if (!database)
    throw new DbConfigError('mysql URI names no database (expected mysql://user:pass@host:3306/database)');
  const connection: Knex.MySql2ConnectionConfig = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    charset: 'utf8mb4',
    // BIGINT epoch milliseconds come back as numbers (strings only beyond 2^53, which the mappers reject).
    supportBigNumbers: true,
    bigNumberStrings: false,
    // DATETIME values (none of ours, but other tools' tables) stay strings instead of local-time Dates.
    dateStrings: true,
    timezone: 'Z',
  };
  for (const [key, value] of url.searchParams) {
    if (key === 'ssl' || key === 'sslmode') {
      // Refusing unknown values matters: silently ignoring "ssl=true" would connect in plain text.
      if (['true', '1', 'required', 'require', 'verify-full'].includes(value))
        connection.ssl = { rejectUnauthorized: true };
      else if (!['false', '0', 'disable', 'disabled'].includes(value))
        throw new DbConfigError(`mysql URI parameter "${key}" has an unsupported value`);
    } else {
      throw new DbConfigError(`mysql URI parameter "${key}" is not supported (only ssl)`);
    }
  }
  return connection;
}
