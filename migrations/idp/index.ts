// IDP migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';

export const migrations: readonly Migration[] = [];
