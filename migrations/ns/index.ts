// NS migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';
import * as virtualServers from './0001_virtual_servers.js';
import * as sessions from './0002_sessions.js';

export const migrations: readonly Migration[] = [
  { name: '0001_virtual_servers', up: virtualServers.up, down: virtualServers.down },
  { name: '0002_sessions', up: sessions.up, down: sessions.down },
];
