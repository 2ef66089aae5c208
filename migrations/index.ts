// Every service's migration list, keyed by service: the one registry auth-server/common/db/migrate.ts reads.
import type { Migration } from '../auth-server/common/db/migration.js';
import { migrations as idp } from './idp/index.js';
import { migrations as mc } from './mc/index.js';
import { migrations as ns } from './ns/index.js';
import { migrations as sfs } from './sfs/index.js';

export const migrationsByService: Readonly<Record<'ns' | 'sfs' | 'mc' | 'idp', readonly Migration[]>> = {
  ns,
  sfs,
  mc,
  idp,
};
