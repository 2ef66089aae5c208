// knexConfigFor turns URIs into knex configs without a database; openDb prepares SQLite's directory.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import {
  cachePreparedStatements,
  DbConfigError,
  knexConfigFor,
  openDb,
} from '../../../../auth-server/common/db/connect.js';

const base = { dataDir: '/var/lib/nextauth', service: 'ns' } as const;

function connectionOf(config: Knex.Config): Record<string, unknown> {
  return config.connection as Record<string, unknown>;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('knexConfigFor', () => {
  it('defaults to <dataDir>/<service>.sqlite with one connection', () => {
    const config = knexConfigFor({ ...base, service: 'sfs' });
    expect(config.client).to.equal('better-sqlite3');
    expect(connectionOf(config).filename).to.equal('/var/lib/nextauth/sfs.sqlite');
    expect(config.useNullAsDefault).to.equal(true);
    expect(config.pool).to.include({ min: 1, max: 1 });
  });

  it('accepts sqlite:///absolute, sqlite:relative and sqlite::memory:', () => {
    expect(connectionOf(knexConfigFor({ ...base, uri: 'sqlite:///srv/db/ns.sqlite' })).filename).to.equal(
      '/srv/db/ns.sqlite',
    );
    expect(connectionOf(knexConfigFor({ ...base, uri: 'sqlite:data/ns.sqlite' })).filename).to.equal(
      'data/ns.sqlite',
    );
    expect(connectionOf(knexConfigFor({ ...base, uri: 'sqlite::memory:' })).filename).to.equal(':memory:');
  });

  it('rejects sqlite URIs without a file or with a host', () => {
    expect(errorOf(() => knexConfigFor({ ...base, uri: 'sqlite:' }))).to.be.instanceOf(DbConfigError);
    expect(errorOf(() => knexConfigFor({ ...base, uri: 'sqlite://host/x.db' }))).to.be.instanceOf(
      DbConfigError,
    );
  });

  for (const scheme of ['postgres', 'postgresql']) {
    it(`maps ${scheme}:// to pg with the pool asked for`, () => {
      const uri = `${scheme}://u:p@db.example:5433/idp?sslmode=require`;
      const config = knexConfigFor({ ...base, uri, pool: { min: 1, max: 25 } });
      expect(config.client).to.equal('pg');
      expect(connectionOf(config).connectionString).to.equal(uri);
      expect(config.pool).to.include({ min: 1, max: 25 });
    });
  }

  for (const scheme of ['mysql', 'mariadb']) {
    it(`maps ${scheme}:// to mysql2 with UTC and safe big numbers`, () => {
      const config = knexConfigFor({ ...base, uri: `${scheme}://app:s%40cret@db.example/nextauth` });
      expect(config.client).to.equal('mysql2');
      expect(connectionOf(config)).to.include({
        host: 'db.example',
        port: 3306,
        user: 'app',
        password: 's@cret',
        database: 'nextauth',
        supportBigNumbers: true,
        timezone: 'Z',
      });
      expect(config.pool).to.include({ min: 0, max: 10 });
    });
  }

  it('turns mysql ssl=true into verified TLS and rejects parameters it does not know', () => {
    const config = knexConfigFor({ ...base, uri: 'mysql://a:b@[::1]:3307/db?ssl=true' });
    expect(connectionOf(config)).to.deep.include({
      host: '::1',
      port: 3307,
      ssl: { rejectUnauthorized: true },
    });
    expect(errorOf(() => knexConfigFor({ ...base, uri: 'mysql://a:b@h/db?sslca=x' })).message).to.contain(
      'sslca',
    );
    expect(errorOf(() => knexConfigFor({ ...base, uri: 'mysql://a:b@h/db?ssl=maybe' }))).to.be.instanceOf(
      DbConfigError,
    );
  });

  it('keeps bound values out of knex error messages', () => {
    expect(knexConfigFor({ ...base, uri: 'postgres://h/db' }).compileSqlOnError).to.equal(false);
    expect(knexConfigFor(base).compileSqlOnError).to.equal(false);
  });

  it('names an unknown scheme', () => {
    const err = errorOf(() => knexConfigFor({ ...base, uri: 'mongodb://u:hunter2@h/db' }));
    expect(err).to.be.instanceOf(DbConfigError);
    expect(err.message).to.contain('"mongodb:"');
  });

  it('never puts the password into an error message', () => {
    const uris = [
      'mongodb://user:hunter2@h/db',
      'postgres://user:hunter2@[bad/db',
      'mysql://user:hunter2@/db',
      'mysql://user:hunter2@h',
      'mysql://user:hunter2@h/db?x=hunter2',
      'mysql://user:hunter2@h/db?ssl=hunter2',
      'user:hunter2@h/db',
    ];
    for (const uri of uris) {
      const err = errorOf(() => knexConfigFor({ ...base, uri }));
      expect(err, uri).to.be.instanceOf(DbConfigError);
      expect(JSON.stringify({ ...err, message: err.message, stack: err.stack }), uri).not.to.contain(
        'hunter2',
      );
    }
  });
});

describe('openDb (SQLite)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nextauth-open-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('creates the data directory 0700 and opens with WAL, foreign keys and a busy timeout', async () => {
    const dataDir = join(root, 'data');
    const knex = openDb({ dataDir, service: 'mc' });
    try {
      expect((await stat(dataDir)).mode & 0o777).to.equal(0o700);
      await knex.raw('select 1');
      expect((await stat(join(dataDir, 'mc.sqlite'))).isFile()).to.equal(true);
      expect(await knex.raw('pragma journal_mode')).to.deep.equal([{ journal_mode: 'wal' }]);
      expect(await knex.raw('pragma foreign_keys')).to.deep.equal([{ foreign_keys: 1 }]);
      expect(await knex.raw('pragma busy_timeout')).to.deep.equal([{ timeout: 5000 }]);
    } finally {
      await knex.destroy();
    }
  });

  it('opens an in-memory database that keeps its tables across queries', async () => {
    const knex = openDb({ uri: 'sqlite::memory:', dataDir: join(root, 'unused'), service: 'ns' });
    try {
      await knex.schema.createTable('t', (t) => t.integer('x'));
      await knex('t').insert({ x: 1 });
      expect(await knex('t').select('x')).to.deep.equal([{ x: 1 }]);
    } finally {
      await knex.destroy();
    }
  });
});

describe('cachePreparedStatements', () => {
  /** A connection whose prepare hands out a new object per call and records the SQL it was asked for. */
  function fakeConnection() {
    const prepared: string[] = [];
    const conn = {
      prepare(sql: string): unknown {
        prepared.push(sql);
        return { sql };
      },
    };
    return { conn, prepared };
  }

  it('prepares a statement once and hands the same one out again', () => {
    const { conn, prepared } = fakeConnection();
    cachePreparedStatements(conn, 8);
    const first = conn.prepare('select * from t where id = ?');
    expect(conn.prepare('select * from t where id = ?')).to.equal(first);
    expect(conn.prepare('BEGIN;')).to.equal(conn.prepare('BEGIN;'));
    expect(conn.prepare('update t set x = ? where id = ?')).to.not.equal(first);
    expect(prepared).to.deep.equal([
      'select * from t where id = ?',
      'BEGIN;',
      'update t set x = ? where id = ?',
    ]);
  });

  it('keeps the most recently used statements up to its size', () => {
    const { conn, prepared } = fakeConnection();
    cachePreparedStatements(conn, 2);
    conn.prepare('select 1');
    conn.prepare('select 2');
    conn.prepare('select 1');
    conn.prepare('select 3');
    expect(prepared).to.have.length(3);
    conn.prepare('select 1');
    expect(prepared).to.have.length(3);
    conn.prepare('select 2');
    expect(prepared).to.deep.equal(['select 1', 'select 2', 'select 3', 'select 2']);
  });

  it('forgets everything after a schema change, and never keeps savepoints', () => {
    const { conn, prepared } = fakeConnection();
    cachePreparedStatements(conn, 8);
    conn.prepare('select * from t');
    conn.prepare('SAVEPOINT trx7');
    conn.prepare('RELEASE SAVEPOINT trx7');
    conn.prepare('select * from t');
    expect(prepared).to.have.length(3);
    conn.prepare('alter table t add column y integer');
    conn.prepare('select * from t');
    expect(prepared.filter((sql) => sql === 'select * from t')).to.have.length(2);
  });

  it('gives SQLite the same answers, also after a migration on the same connection', async () => {
    const knex = openDb({ uri: 'sqlite::memory:', dataDir: '/nonexistent', service: 'ns' });
    try {
      await knex.schema.createTable('t', (t) => {
        t.integer('id').primary();
        t.string('v');
      });
      await knex('t').insert([
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ]);
      for (const id of [1, 2, 1])
        expect(await knex('t').where({ id }).first()).to.deep.equal({ id, v: 'ab'[id - 1] });
      expect(await knex('t').where({ id: 1 }).update({ v: 'c' })).to.equal(1);
      expect(await knex('t').where({ id: 3 }).update({ v: 'c' })).to.equal(0);
      await knex.schema.alterTable('t', (t) => t.integer('n').defaultTo(7));
      expect(await knex('t').select('*').orderBy('id')).to.deep.equal([
        { id: 1, v: 'c', n: 7 },
        { id: 2, v: 'b', n: 7 },
      ]);
      await knex.transaction(async (trx) => {
        await trx('t').where({ id: 2 }).update({ n: 8 });
        await trx.transaction(async (inner) => inner('t').where({ id: 1 }).update({ n: 9 }));
      });
      expect(await knex('t').select('n').orderBy('id')).to.deep.equal([{ n: 9 }, { n: 8 }]);
    } finally {
      await knex.destroy();
    }
  });
});
