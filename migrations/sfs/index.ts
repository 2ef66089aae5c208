// SFS migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';
import * as core from './0001_sfs_core.js';
import * as bioKeys from './0002_biometric_keys.js';

export const migrations: readonly Migration[] = [
  { name: '0001_sfs_core', up: core.up, down: core.down },
  { name: '0002_biometric_keys', up: bioKeys.up, down: bioKeys.down },
];
