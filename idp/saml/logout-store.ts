// The chains of IdP-initiated front-channel logout (docs/saml.md, single logout): which SAML participants of
// an ended IdP session are still to be sent a LogoutRequest, the one awaiting its LogoutResponse, what each SP
// answered, and where the browser goes at the end. Every change is a conditional UPDATE on `step`, so of
// concurrent steps (two tabs, a replayed LogoutResponse racing the real one) exactly one wins.
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../../auth-server/common/clock.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';

export const logoutsTable = 'idp_saml_logouts';

/** How long a browser may take to walk the chain; past it the SPs not reached stay unreached. */
export const logoutChainLifetimeMs = 10 * 60 * 1000;

const samlParticipantSchema = z.strictObject({
  protocol: z.literal('saml'),
  spEntityId: z.string().max(512),
  nameId: z.string().max(1024),
  nameIdFormat: z.string().max(256),
  sessionIndex: z.string().max(256),
});
export type SamlParticipant = z.output<typeof samlParticipantSchema>;

/**
 * `success`: the SP said Success. `failed`: another status. `no_answer`: the browser came back to the chain
 * without the SP's LogoutResponse (the SP did not answer, the user went back). `no_slo_endpoint`: the SP's
 * metadata has no SingleLogoutService. `unknown_sp`: removed meanwhile. `unreached`: the chain expired first.
 */
export const sloOutcomes = [
  'success',
  'failed',
  'no_answer',
  'no_slo_endpoint',
  'unknown_sp',
  'unreached',
] as const;
export type SloOutcome = (typeof sloOutcomes)[number];

export const logoutChainSchema = z.strictObject({
  /** The ended IdP session (logs). */
  sessionId: z.string().max(128),
  userid: z.string().max(256),
  queue: z.array(samlParticipantSchema).max(200),
  awaiting: z.strictObject({ participant: samlParticipantSchema, requestId: z.string().max(64) }).optional(),
  outcomes: z
    .array(
      z.strictObject({
        spEntityId: z.string().max(512),
        outcome: z.enum(sloOutcomes),
        status: z.string().max(256).optional(),
      }),
    )
    .max(200),
  /** Where the browser goes last: a URL of ours or an RP's, or the LogoutResponse to the SP that began. */
  finish: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('url'), url: z.string().max(4096) }),
    z.strictObject({
      kind: z.literal('saml'),
      spEntityId: z.string().max(512),
      inResponseTo: z.string().max(256),
      relayState: z.string().max(1024).optional(),
    }),
  ]),
  done: z.boolean(),
});
export type LogoutChain = z.output<typeof logoutChainSchema>;

export interface StoredChain {
  id: string;
  server: string;
  chain: LogoutChain;
  step: number;
}

interface Row {
  id: string;
  server: string;
  state: string;
  step: number | string;
  expires_at: unknown;
}

export interface LogoutStore {
  create(id: string, server: string, chain: LogoutChain): Promise<void>;
  get(server: string, id: string): Promise<StoredChain | undefined>;
  /** The live chain whose awaiting LogoutRequest has this ID. */
  awaiting(server: string, requestId: string): Promise<StoredChain | undefined>;
  /** Writes `chain` if nobody changed the row since `step` was read; false when another step won. */
  update(stored: StoredChain, chain: LogoutChain): Promise<boolean>;
  /**
   * Deletes expired chains; `onExpired` first hears each one that was not walked to its end (its SPs stay
   * unreached). Returns how many were deleted.
   */
  sweep(onExpired?: (server: string, chain: LogoutChain) => void): Promise<number>;
}

/** Expired chains read per sweep statement: a backlog is worked off over several rounds. */
const sweepBatch = 500;

export function createLogoutStore(deps: { knex: Knex; clock: Clock }): LogoutStore {
  const { knex, clock } = deps;
  const toStored = (row: Row | undefined): StoredChain | undefined => {
    if (!row || fromDbMillis(row.expires_at) <= clock.now()) return undefined;
    const parsed = logoutChainSchema.safeParse(JSON.parse(row.state));
    if (!parsed.success) return undefined;
    return { id: row.id, server: row.server, chain: parsed.data, step: Number(row.step) };
  };
  return {
    async create(id, server, chain) {
      const now = clock.now();
      await knex(logoutsTable).insert({
        id,
        server,
        state: JSON.stringify(logoutChainSchema.parse(chain)),
        awaiting_request_id: chain.awaiting?.requestId ?? null,
        step: 0,
        created_at: now,
        expires_at: now + logoutChainLifetimeMs,
      });
    },

    async get(server, id) {
      return toStored((await knex<Row>(logoutsTable).where({ server, id }).first()) as Row | undefined);
    },

    async awaiting(server, requestId) {
      return toStored(
        (await knex(logoutsTable).where({ server, awaiting_request_id: requestId }).first()) as
          | Row
          | undefined,
      );
    },

    async update(stored, chain) {
      const updated = await knex(logoutsTable)
        .where({ id: stored.id, server: stored.server, step: stored.step })
        .andWhere('expires_at', '>', clock.now())
        .update({
          state: JSON.stringify(logoutChainSchema.parse(chain)),
          awaiting_request_id: chain.awaiting?.requestId ?? null,
          step: stored.step + 1,
        });
      return Number(updated) === 1;
    },

    async sweep(onExpired) {
      const now = clock.now();
      if (!onExpired) return Number(await knex(logoutsTable).where('expires_at', '<=', now).delete());
      const rows = (await knex<Row>(logoutsTable)
        .where('expires_at', '<=', now)
        .select('id', 'server', 'state')
        .limit(sweepBatch)) as Row[];
      for (const row of rows) {
        const parsed = logoutChainSchema.safeParse(JSON.parse(row.state));
        if (parsed.success && !parsed.data.done) onExpired(row.server, parsed.data);
      }
      if (rows.length === 0) return 0;
      return Number(
        await knex(logoutsTable)
          .whereIn(
            'id',
            rows.map((r) => r.id),
          )
          .delete(),
      );
    },
  };
}
