// Unique violations from the three drivers are recognised and mapped to ConflictError.
import { expect } from 'chai';
import {
  ConflictError,
  isUniqueViolation,
  NotFoundError,
  rethrowConflict,
} from '../../../../auth-server/common/db/errors.js';
import { describeEachDatabase } from './databases.js';

describe('db errors', () => {
  it('recognises each driver’s unique-violation code', () => {
    for (const err of [
      { code: 'SQLITE_CONSTRAINT_UNIQUE' },
      { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' },
      { code: '23505' },
      { code: 'ER_DUP_ENTRY', errno: 1062 },
    ]) {
      expect(isUniqueViolation(err), err.code).to.equal(true);
    }
    for (const err of [
      undefined,
      null,
      'x',
      new Error('x'),
      { code: '23503' },
      { code: 'SQLITE_CONSTRAINT_NOTNULL' },
    ]) {
      expect(isUniqueViolation(err)).to.equal(false);
    }
  });

  it('gives NotFoundError and ConflictError a stable code and the entity', () => {
    const notFound = new NotFoundError('virtual server', 'acme');
    expect(notFound).to.include({ code: 'NOT_FOUND', entity: 'virtual server', id: 'acme' });
    expect(() => rethrowConflict({ code: '23505', constraint: 'c1' }, 'virtual server', 'acme'))
      .to.throw(ConflictError)
      .that.includes({ code: 'CONFLICT', entity: 'virtual server', key: 'acme', constraint: 'c1' });
    const other = new Error('boom');
    expect(() => rethrowConflict(other, 'x', 'y')).to.throw(other);
  });
});

describeEachDatabase('unique violations', (db) => {
  before(async () => {
    await db().knex.schema.createTable('test_unique', (t) => {
      t.string('id', 8).primary();
      t.string('name', 8).unique();
    });
  });

  it('recognises a duplicate primary key and a duplicate unique column from the real driver', async () => {
    const { knex } = db();
    await knex('test_unique').insert({ id: 'a', name: 'n1' });
    for (const row of [
      { id: 'a', name: 'n2' },
      { id: 'b', name: 'n1' },
    ]) {
      const err = await knex('test_unique')
        .insert(row)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isUniqueViolation(err), JSON.stringify(row)).to.equal(true);
    }
  });

  it('keeps bound values out of the driver’s error message', async () => {
    const { knex } = db();
    const err = (await knex
      .raw('insert into test_unique (id, name) values (?, ?)', ['secret99', null])
      .then(() => knex.raw('insert into test_unique (id, name) values (?, ?)', ['secret99', null]))
      .then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
    expect(isUniqueViolation(err)).to.equal(true);
    // MySQL itself repeats the duplicate key in its message; knex no longer adds the bindings on top.
    if (db().dialect !== 'mariadb') expect(err.message).not.to.contain('secret99');
  });
});
