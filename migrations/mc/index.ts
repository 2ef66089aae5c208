// MC migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';
import * as core from './0001_mc_core.js';

export const migrations: readonly Migration[] = [{ name: '0001_mc_core', up: core.up, down: core.down }];
