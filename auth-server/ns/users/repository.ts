// Storage of NS users: Load by (server, userid), Save (the whole profile, with its attribute and group
// rows), Delete, and a filtered, sorted, keyset-paged List — the same on SQLite, PostgreSQL and MariaDB.
import type { Knex } from 'knex';
import { fromDbMillis } from '../../common/db/timestamps.js';
import { decodeUserMarker, encodeUserMarker, type UserCursor } from './marker.js';
import {
  defaultUserPageSize,
  maxUserPageSize,
  type User,
  type UserPage,
  type UserQuery,
  type UserSort,
} from './model.js';

const users = 'ns_users';
const attributes = 'ns_user_attributes';
const groups = 'ns_user_groups';

interface Row {
  id: string;
  server_id: string;
  userid: string;
  name: string | null;
  email: string | null;
  created_at: unknown;
  updated_at: unknown;
}

export interface UserRepository {
  find(serverId: string, userid: string): Promise<User | undefined>;
  /**
   * Inserts (`isNew`) or overwrites the user's row, attributes and groups (call inside a transaction). An
   * insert is the transaction's first write, so no gap lock is taken before it (InnoDB deadlocks).
   */
  save(user: User, isNew: boolean): Promise<void>;
  /** Deletes the user (attributes and groups follow); false when there was none. */
  delete(serverId: string, userid: string): Promise<boolean>;
  /** Throws InvalidMarkerError for a marker of another sort, RangeError for a bad limit. */
  list(serverId: string, query: UserQuery): Promise<UserPage>;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = ([a]: [string, string], [b]: [string, string]) => byCodeUnit(a, b);

/** Group names and attribute keys in code-unit order: the same on every database and in every answer. */
export function normalizeProfile<T extends { attributes: Record<string, string>; groups: string[] }>(
  p: T,
): T {
  // Runs once per user of a listed page: the comparators are made once, not per call.
  return {
    ...p,
    attributes: Object.fromEntries(Object.entries(p.attributes).sort(byKey)),
    groups: [...p.groups].sort(byCodeUnit),
  };
}

function toUser(row: Row, attrs: Record<string, string>, groupNames: string[]): User {
  return normalizeProfile({
    id: row.id,
    serverId: row.server_id,
    userid: row.userid,
    name: row.name,
    email: row.email,
    attributes: attrs,
    groups: groupNames,
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  });
}

/** Attribute and group rows of these users, as maps by user id. */
async function loadDetails(db: Knex, ids: string[]) {
  const attrs = new Map<string, Record<string, string>>();
  const groupsOf = new Map<string, string[]>();
  if (ids.length === 0) return { attrs, groupsOf };
  const [attrRows, groupRows] = await Promise.all([
    db(attributes).select('user_id', 'name', 'value').whereIn('user_id', ids),
    db(groups).select('user_id', 'group_name').whereIn('user_id', ids),
  ]);
  for (const r of attrRows as { user_id: string; name: string; value: string }[]) {
    const a = attrs.get(r.user_id) ?? {};
    a[r.name] = r.value;
    attrs.set(r.user_id, a);
  }
  for (const r of groupRows as { user_id: string; group_name: string }[]) {
    const g = groupsOf.get(r.user_id) ?? [];
    g.push(r.group_name);
    groupsOf.set(r.user_id, g);
  }
  return { attrs, groupsOf };
}

const sortColumn = (sort: UserSort) => (sort.endsWith('userid') ? 'u.userid' : 'u.created_at');
const descending = (sort: UserSort) => sort.startsWith('-');

export function createUserRepository(knex: Knex): UserRepository {
  return {
    async find(serverId, userid) {
      const row = await knex<Row>(users).where({ server_id: serverId, userid }).first();
      if (!row) return undefined;
      const { attrs, groupsOf } = await loadDetails(knex, [row.id]);
      return toUser(row, attrs.get(row.id) ?? {}, groupsOf.get(row.id) ?? []);
    },

    async save(user, isNew) {
      const row = {
        name: user.name,
        email: user.email,
        updated_at: user.updatedAt.getTime(),
      };
      if (isNew) {
        await knex(users).insert({
          id: user.id,
          server_id: user.serverId,
          userid: user.userid,
          created_at: user.createdAt.getTime(),
          ...row,
        });
      } else {
        await knex(users).where({ id: user.id }).update(row);
        await knex(attributes).where({ user_id: user.id }).del();
        await knex(groups).where({ user_id: user.id }).del();
      }
      const attrRows = Object.entries(user.attributes).map(([name, value]) => ({
        user_id: user.id,
        server_id: user.serverId,
        name,
        value,
      }));
      if (attrRows.length > 0) await knex(attributes).insert(attrRows);
      const groupRows = user.groups.map((group_name) => ({
        user_id: user.id,
        server_id: user.serverId,
        group_name,
      }));
      if (groupRows.length > 0) await knex(groups).insert(groupRows);
    },

    async delete(serverId, userid) {
      const deleted = await knex(users).where({ server_id: serverId, userid }).del();
      return deleted > 0;
    },

    async list(serverId, query) {
      const sort = query.sort ?? 'userid';
      const limit = query.limit ?? defaultUserPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxUserPageSize)
        throw new RangeError(`limit must be 1–${maxUserPageSize}`);
      const after: UserCursor | undefined =
        query.marker === undefined ? undefined : decodeUserMarker(query.marker, sort);

      const q = knex<Row>(`${users} as u`).select('u.*').where('u.server_id', serverId);
      for (const [name, value] of Object.entries(query.attributes ?? {})) {
        if (name === 'name' || name === 'email') q.where(`u.${name}`, value);
        else
          q.whereExists(
            knex(`${attributes} as a`)
              .select(knex.raw('1'))
              .whereRaw('a.user_id = u.id')
              .where({ 'a.server_id': serverId, 'a.name': name, 'a.value': value }),
          );
      }
      if (query.groups && query.groups.length > 0) {
        q.whereExists(
          knex(`${groups} as g`)
            .select(knex.raw('1'))
            .whereRaw('g.user_id = u.id')
            .where('g.server_id', serverId)
            .whereIn('g.group_name', query.groups),
        );
      }
      if (query.search !== undefined && query.search !== '') {
        // A prefix by substring comparison: no LIKE, so no wildcard escaping that differs per dialect.
        const prefix = query.search.toLowerCase();
        const n = [...prefix].length;
        q.where((w) => {
          for (const column of ['u.userid', 'u.name', 'u.email'])
            w.orWhereRaw(`substr(lower(coalesce(${column}, '')), 1, ?) = ?`, [n, prefix]);
        });
      }
      const column = sortColumn(sort);
      const desc = descending(sort);
      const op = desc ? '<' : '>';
      if (after) {
        // userid is unique per server; created_at needs the id as tie-break.
        if (column === 'u.userid') q.where('u.userid', op, after.userid);
        else
          q.where((w) =>
            w
              .where('u.created_at', op, after.createdAt)
              .orWhere((e) => e.where('u.created_at', after.createdAt).andWhere('u.id', op, after.id)),
          );
      }
      const direction = desc ? 'desc' : 'asc';
      q.orderBy(column, direction);
      if (column !== 'u.userid') q.orderBy('u.id', direction);
      const rows = (await q.limit(limit + 1)) as Row[];
      const page = rows.slice(0, limit);
      const { attrs, groupsOf } = await loadDetails(
        knex,
        page.map((r) => r.id),
      );
      const result = page.map((r) => toUser(r, attrs.get(r.id) ?? {}, groupsOf.get(r.id) ?? []));
      const last = result.at(-1);
      return {
        users: result,
        nextMarker:
          rows.length > limit && last
            ? encodeUserMarker(
                { userid: last.userid, createdAt: last.createdAt.getTime(), id: last.id },
                sort,
              )
            : null,
      };
    },
  };
}
