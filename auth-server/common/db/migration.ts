// The shape of one migration; each `migrations/<service>/index.ts` exports an ordered list of these.
import type { Knex } from 'knex';

export interface Migration {
  /** Unique, sortable, never renamed once released: it is what the migrations table records. */
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}
