// pingDb answers for a live database and gives up in time on one that hangs.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { pingDb } from '../../../../auth-server/common/db/health.js';
import { describeEachDatabase } from './databases.js';

describe('pingDb timeout', () => {
  it('rejects when the database does not answer in time', async () => {
    const hanging = { raw: () => new Promise(() => undefined) } as unknown as Knex;
    const started = Date.now();
    const err = await pingDb(hanging, 50).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.contain('did not answer within 50 ms');
    expect(Date.now() - started).to.be.lessThan(1000);
  });
});

describeEachDatabase('pingDb', (db) => {
  it('resolves for a reachable database', async () => {
    await pingDb(db().knex);
  });
});
