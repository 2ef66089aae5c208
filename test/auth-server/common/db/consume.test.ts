// consumeOnce on every database: one winner among concurrent redemptions, expired and used rows refused.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { consumeOnce } from '../../../../auth-server/common/db/consume.js';
import { exactString, millis } from '../../../../auth-server/common/db/schema.js';
import { fromDbMillisOrNull } from '../../../../auth-server/common/db/timestamps.js';
import { describeEachDatabase } from './databases.js';

const table = 'test_one_time';
const now = new Date(Date.UTC(2026, 0, 1));
const later = now.getTime() + 60_000;

async function usedAt(knex: Knex, id: string): Promise<number | null> {
  const row = await knex(table).where({ id }).first('used_at');
  return fromDbMillisOrNull(row?.used_at);
}

describeEachDatabase('consumeOnce', (db) => {
  before(async () => {
    const { knex } = db();
    await knex.schema.createTable(table, (t) => {
      exactString(knex, t, 'id', 32).primary();
      t.string('client_id', 32).notNullable();
      millis(t, 'expires_at').notNullable();
      millis(t, 'used_at').nullable();
    });
  });
  beforeEach(() => db().knex(table).del());

  const insert = (id: string, fields: Record<string, unknown> = {}) =>
    db()
      .knex(table)
      .insert({ id, client_id: 'rp1', expires_at: later, used_at: null, ...fields });

  it('consumes a fresh row once and records when', async () => {
    const { knex } = db();
    await insert('code-1');
    expect(await consumeOnce(knex, { table, id: 'code-1', now, expiresAtColumn: 'expires_at' })).to.equal(
      true,
    );
    expect(await usedAt(knex, 'code-1')).to.equal(now.getTime());
    expect(await consumeOnce(knex, { table, id: 'code-1', now, expiresAtColumn: 'expires_at' })).to.equal(
      false,
    );
    expect(await usedAt(knex, 'code-1')).to.equal(now.getTime());
  });

  it('refuses an already used row', async () => {
    const { knex } = db();
    await insert('code-2', { used_at: now.getTime() - 1000 });
    expect(await consumeOnce(knex, { table, id: 'code-2', now })).to.equal(false);
    expect(await usedAt(knex, 'code-2')).to.equal(now.getTime() - 1000);
  });

  it('refuses an expired row and leaves it unused', async () => {
    const { knex } = db();
    await insert('code-3', { expires_at: now.getTime() });
    expect(await consumeOnce(knex, { table, id: 'code-3', now, expiresAtColumn: 'expires_at' })).to.equal(
      false,
    );
    expect(await usedAt(knex, 'code-3')).to.equal(null);
  });

  it('refuses an unknown id, and an id differing only in case', async () => {
    const { knex } = db();
    await insert('CodeX');
    expect(await consumeOnce(knex, { table, id: 'nope', now })).to.equal(false);
    expect(await consumeOnce(knex, { table, id: 'codex', now })).to.equal(false);
    expect(await usedAt(knex, 'CodeX')).to.equal(null);
  });

  it('honours extraWhere', async () => {
    const { knex } = db();
    await insert('code-4');
    expect(await consumeOnce(knex, { table, id: 'code-4', now, extraWhere: { client_id: 'rp2' } })).to.equal(
      false,
    );
    expect(await consumeOnce(knex, { table, id: 'code-4', now, extraWhere: { client_id: 'rp1' } })).to.equal(
      true,
    );
  });

  it('takes part in a transaction: a rollback un-consumes', async () => {
    const { knex } = db();
    await insert('code-5');
    await knex
      .transaction(async (trx) => {
        expect(await consumeOnce(trx, { table, id: 'code-5', now })).to.equal(true);
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(await usedAt(knex, 'code-5')).to.equal(null);
  });

  it('lets exactly one of 20 concurrent redemptions win, across connections', async () => {
    // Four handles (on SQLite: four connections to the file, as four processes would have) with pools of
    // five, so on PostgreSQL and MariaDB all twenty UPDATEs are in flight at once.
    const handles = Array.from({ length: 4 }, () => db().open({ min: 5, max: 5 }));
    await Promise.all(handles.map((h) => h.raw('select 1')));
    for (let round = 0; round < 3; round++) {
      const id = `race-${round}`;
      await insert(id);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          consumeOnce(handles[i % handles.length] as Knex, { table, id, now, expiresAtColumn: 'expires_at' }),
        ),
      );
      expect(results.filter(Boolean), `round ${round}`).to.have.length(1);
    }
  });
});
