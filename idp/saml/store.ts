// What the SAML front door keeps between requests: the AuthnRequest IDs already used (one insert each: of
// concurrent uses of one ID exactly one wins, DESIGN.md §6) and the SSO requests waiting for a QR login,
// completed once and collected once by the browser the IdP session belongs to.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../../auth-server/common/clock.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../auth-server/common/db/timestamps.js';
import { maxClockSkewMs, maxRequestAgeMs } from './authn-request.js';

export const requestIdsTable = 'idp_saml_request_ids';
export const pendingTable = 'idp_saml_pending';

/** How long a QR login for an SSO request may take. */
export const pendingLifetimeMs = 10 * 60 * 1000;

/** What the Response to a waiting request needs (stored as JSON). */
export const pendingRequestSchema = z.strictObject({
  /** Absent for IdP-initiated SSO. */
  requestId: z.string().max(256).optional(),
  acs: z.string().max(2048),
  relayState: z.string().max(1024).optional(),
  nameIdFormat: z.string().max(256),
  forceAuthn: z.boolean(),
  isPassive: z.boolean(),
});
export type PendingRequest = z.output<typeof pendingRequestSchema>;

export interface Pending {
  id: string;
  server: string;
  spEntityId: string;
  request: PendingRequest;
  createdAt: number;
  expiresAt: number;
  completedAt: number | null;
  sessionId: string | null;
  response: string | null;
  deliveredAt: number | null;
}

interface PendingRow {
  id: string;
  server: string;
  sp_entity_id: string;
  request: string;
  created_at: unknown;
  expires_at: unknown;
  completed_at: unknown;
  session_id: string | null;
  response: string | null;
  delivered_at: unknown;
}

export interface SamlStore {
  /** False when the SP used this request ID before (a replay). */
  useRequestId(server: string, spEntityId: string, requestId: string): Promise<boolean>;
  createPending(p: {
    id: string;
    server: string;
    spEntityId: string;
    request: PendingRequest;
  }): Promise<void>;
  getPending(server: string, id: string): Promise<Pending | undefined>;
  /** Stores the Response for the session; false when another completion came first or it expired. */
  complete(server: string, id: string, sessionId: string | null, response: string): Promise<boolean>;
  /** Marks the Response collected; false when it was collected already. */
  deliver(server: string, id: string): Promise<boolean>;
  /** Deletes rows past their expiry; returns how many. */
  sweep(): Promise<number>;
}

const spHash = (entityId: string) => createHash('sha256').update(entityId).digest('hex');

export function createSamlStore(deps: { knex: Knex; clock: Clock }): SamlStore {
  const { knex, clock } = deps;
  const toDomain = (row: PendingRow): Pending => ({
    id: row.id,
    server: row.server,
    spEntityId: row.sp_entity_id,
    request: pendingRequestSchema.parse(JSON.parse(row.request)),
    createdAt: fromDbMillis(row.created_at),
    expiresAt: fromDbMillis(row.expires_at),
    completedAt: fromDbMillisOrNull(row.completed_at),
    sessionId: row.session_id,
    response: row.response,
    deliveredAt: fromDbMillisOrNull(row.delivered_at),
  });

  return {
    async useRequestId(server, spEntityId, requestId) {
      const now = clock.now();
      try {
        await knex(requestIdsTable).insert({
          server,
          sp_hash: spHash(spEntityId),
          request_id: requestId,
          used_at: now,
          // Past this a replay fails the IssueInstant window anyway.
          expires_at: now + maxRequestAgeMs + maxClockSkewMs,
        });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async createPending(p) {
      const now = clock.now();
      await knex(pendingTable).insert({
        id: p.id,
        server: p.server,
        sp_entity_id: p.spEntityId,
        request: JSON.stringify(p.request),
        created_at: now,
        expires_at: now + pendingLifetimeMs,
      });
    },

    async getPending(server, id) {
      const row = (await knex<PendingRow>(pendingTable).where({ server, id }).first()) as
        | PendingRow
        | undefined;
      if (!row || fromDbMillis(row.expires_at) <= clock.now()) return undefined;
      return toDomain(row);
    },

    async complete(server, id, sessionId, response) {
      const now = clock.now();
      const updated = await knex(pendingTable)
        .where({ server, id })
        .whereNull('completed_at')
        .andWhere('expires_at', '>', now)
        .update({ completed_at: now, session_id: sessionId, response });
      return Number(updated) === 1;
    },

    async deliver(server, id) {
      const now = clock.now();
      const updated = await knex(pendingTable)
        .where({ server, id })
        .whereNotNull('completed_at')
        .whereNull('delivered_at')
        .andWhere('expires_at', '>', now)
        // The Response is not needed any more once collected.
        .update({ delivered_at: now, response: null });
      return Number(updated) === 1;
    },

    async sweep() {
      const now = clock.now();
      const ids = Number(await knex(requestIdsTable).where('expires_at', '<=', now).delete());
      const pending = Number(await knex(pendingTable).where('expires_at', '<=', now).delete());
      return ids + pending;
    },
  };
}
