// Storage of NS sessions: Save/Load over knex, and guarded state transitions (UPDATE … WHERE state IN …).
import type { Knex } from 'knex';
import { NotFoundError } from '../../common/db/errors.js';
import { deleteExpiredRows } from '../../common/db/sweep.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import {
  type AuthMethod,
  authMethodSchema,
  type DeclineReason,
  declineReasonSchema,
  type Session,
  type SessionState,
  sessionStateSchema,
} from './model.js';

const table = 'ns_sessions';
const entity = 'session';

export interface NewSessionRecord {
  id: string;
  serverId: string;
  nonceHash: string;
  userAgent: string;
  ip: string;
  info: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface TransitionPatch {
  state: SessionState;
  userid?: string;
  accountId?: string;
  hsid?: string;
  loggedInAt?: number;
  expiresAt?: number;
  declineReason?: DeclineReason;
  authMethod?: AuthMethod;
  scanAccountId?: string;
}

export interface SessionRepository {
  save(record: NewSessionRecord): Promise<void>;
  /** Throws NotFoundError. */
  load(id: string): Promise<Session>;
  findByNonceHash(nonceHash: string): Promise<Session | undefined>;
  /** The session a login code (by its hash) was issued for, in one read; undefined for an unknown code. */
  findByLoginCodeHash(codeHash: string): Promise<Session | undefined>;
  /**
   * Moves the session to `patch.state` only when it is in one of `from` and, with `unexpiredAt`, not expired
   * at that time. One conditional UPDATE: of concurrent transitions exactly one sees affected = 1.
   */
  transition(
    id: string,
    from: readonly SessionState[],
    patch: TransitionPatch,
    now: number,
    unexpiredAt?: number,
  ): Promise<boolean>;
  /** Sessions `scanned` by `accountId` and not expired at `now` (at most a few: one per open login page). */
  findScannedBy(accountId: string, now: number): Promise<Session[]>;
  /**
   * Ends (`loggedout`) every logged-in session of an account that is going away, so a removed phone's
   * logins stop at once; returns how many ended.
   */
  endForAccount(serverId: string, accountId: string, now: number): Promise<number>;
  /** Deletes sessions that expired before `before`, with their login codes (FK cascade); returns how many. */
  deleteExpired(before: number): Promise<number>;
}

interface Row {
  id: string;
  server_id: string;
  server_name: string;
  nonce_hash: string;
  state: string;
  userid: string | null;
  account_id: string | null;
  hsid: string | null;
  user_agent: string;
  ip: string;
  session_info: string | null;
  decline_reason: string | null;
  auth_method?: string | null;
  scan_account_id?: string | null;
  created_at: unknown;
  expires_at: unknown;
  logged_in_at: unknown;
  updated_at: unknown;
}

function toDomain(row: Row): Session {
  const loggedInAt = fromDbMillisOrNull(row.logged_in_at);
  return {
    id: row.id,
    serverId: row.server_id,
    serverName: row.server_name,
    state: sessionStateSchema.parse(row.state),
    userid: row.userid,
    accountId: row.account_id,
    hsid: row.hsid,
    userAgent: row.user_agent,
    ip: row.ip,
    info: row.session_info,
    // Unknown values (a newer version's) read as no reason: the page then shows a plain decline.
    declineReason: declineReasonSchema.safeParse(row.decline_reason).data ?? null,
    authMethod: authMethodSchema.safeParse(row.auth_method).data ?? null,
    scanAccountId: row.scan_account_id ?? null,
    createdAt: new Date(fromDbMillis(row.created_at)),
    expiresAt: new Date(fromDbMillis(row.expires_at)),
    loggedInAt: loggedInAt === null ? null : new Date(loggedInAt),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  };
}

export function createSessionRepository(knex: Knex): SessionRepository {
  // The server's name travels with the session: LoginStatus and QR data carry it.
  const select = (db: Knex) =>
    db<Row>(`${table} as s`)
      .join('ns_virtual_servers as v', 'v.id', 's.server_id')
      .select('s.*', 'v.name as server_name');

  return {
    async save(record) {
      await knex(table).insert({
        id: record.id,
        server_id: record.serverId,
        nonce_hash: record.nonceHash,
        state: 'waiting',
        user_agent: record.userAgent,
        ip: record.ip,
        session_info: record.info,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        updated_at: record.createdAt,
      });
    },

    async load(id) {
      const row = (await select(knex).where('s.id', id).first()) as Row | undefined;
      if (!row) throw new NotFoundError(entity, id);
      return toDomain(row);
    },

    async findByNonceHash(nonceHash) {
      const row = (await select(knex).where('s.nonce_hash', nonceHash).first()) as Row | undefined;
      return row ? toDomain(row) : undefined;
    },

    async findByLoginCodeHash(codeHash) {
      const row = (await select(knex)
        .join('ns_login_codes as c', 'c.session_id', 's.id')
        .where('c.code_hash', codeHash)
        .first()) as Row | undefined;
      return row ? toDomain(row) : undefined;
    },

    async transition(id, from, patch, now, unexpiredAt) {
      const values: Record<string, unknown> = { state: patch.state, updated_at: now };
      if (patch.userid !== undefined) values.userid = patch.userid;
      if (patch.accountId !== undefined) values.account_id = patch.accountId;
      if (patch.hsid !== undefined) values.hsid = patch.hsid;
      if (patch.loggedInAt !== undefined) values.logged_in_at = patch.loggedInAt;
      if (patch.expiresAt !== undefined) values.expires_at = patch.expiresAt;
      if (patch.declineReason !== undefined) values.decline_reason = patch.declineReason;
      if (patch.authMethod !== undefined) values.auth_method = patch.authMethod;
      if (patch.scanAccountId !== undefined) values.scan_account_id = patch.scanAccountId;
      let query = knex(table)
        .where({ id })
        .whereIn('state', [...from]);
      if (unexpiredAt !== undefined) query = query.andWhere('expires_at', '>', unexpiredAt);
      const affected: unknown = await query.update(values);
      return affected === 1;
    },

    async findScannedBy(accountId, now) {
      const rows = (await select(knex)
        .where({ 's.scan_account_id': accountId, 's.state': 'scanned' })
        .andWhere('s.expires_at', '>', now)
        .limit(20)) as Row[];
      return rows.map(toDomain);
    },

    async endForAccount(serverId, accountId, now) {
      const ended: unknown = await knex(table)
        .where({ server_id: serverId, account_id: accountId, state: 'loggedin' })
        .update({ state: 'loggedout', updated_at: now });
      return typeof ended === 'number' ? ended : 0;
    },

    deleteExpired: (before) =>
      deleteExpiredRows(knex, { table, keyColumn: 'id', expiresAtColumn: 'expires_at' }, before),
  };
}
