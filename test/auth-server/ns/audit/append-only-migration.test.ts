// Migration 0017 on MySQL/MariaDB servers that refuse CREATE TRIGGER to the application user (binary logging
// without SUPER, no TRIGGER grant): the migration still succeeds and leaves no lone trigger behind; any other
// failure is not swallowed. (Where the server allows it, repository.test.ts checks the triggers refuse.)
import { expect } from 'chai';
import type { Knex } from 'knex';
import { down, up } from '../../../../migrations/ns/0017_audit_append_only_mysql.js';

/** A stand-in knex of `client` that records statements and fails CREATE TRIGGER number `failAt` with `errno`. */
function fakeKnex(client: string, failAt?: { n: number; errno: number }) {
  const statements: string[] = [];
  let creates = 0;
  const knex = {
    client: { config: { client } },
    async raw(sql: string) {
      statements.push(sql);
      if (sql.startsWith('create trigger') && ++creates === failAt?.n) {
        throw Object.assign(new Error('refused'), { errno: failAt.errno });
      }
      return [];
    },
  } as unknown as Knex;
  return { knex, statements };
}

describe('ns migration 0017: audit log append-only on MySQL/MariaDB', () => {
  it('creates a trigger against UPDATE and one against DELETE', async () => {
    const { knex, statements } = fakeKnex('mysql2');
    await up(knex);
    expect(statements).to.have.length(2);
    expect(statements[0]).to.match(
      /^create trigger ns_audit_events_no_update before update .* signal sqlstate/,
    );
    expect(statements[1]).to.match(/^create trigger ns_audit_events_no_delete before delete /);
  });

  for (const errno of [1419, 1142]) {
    it(`leaves it to the grants when the server refuses for want of privileges (errno ${errno}), no lone trigger`, async () => {
      const { knex, statements } = fakeKnex('mysql2', { n: 2, errno });
      await up(knex);
      expect(statements.at(-1)).to.equal('drop trigger if exists ns_audit_events_no_update');
    });
  }

  it('fails on any other error', async () => {
    const { knex } = fakeKnex('mysql2', { n: 1, errno: 1064 });
    let failed = false;
    await up(knex).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
  });

  it('does nothing on SQLite and PostgreSQL (0005 has their triggers); down drops both', async () => {
    for (const client of ['better-sqlite3', 'pg']) {
      const { knex, statements } = fakeKnex(client);
      await up(knex);
      await down(knex);
      expect(statements).to.deep.equal([]);
    }
    const { knex, statements } = fakeKnex('mysql2');
    await down(knex);
    expect(statements).to.deep.equal([
      'drop trigger if exists ns_audit_events_no_update',
      'drop trigger if exists ns_audit_events_no_delete',
    ]);
  });
});
