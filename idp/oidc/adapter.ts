// oidc-provider's storage on knex, one instance per virtual server: behaves like oidc-provider's own
// lib/adapters/memory_adapter.js (expiry, grant membership, uid and user-code lookups) plus an atomic
// `consume` — of N concurrent redemptions of one code or refresh token exactly one wins (DESIGN.md §6).
import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../../auth-server/common/clock.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { fromDbMillisOrNull } from '../../auth-server/common/db/timestamps.js';
import { createFindBatcher, type FindBatcher } from './find-batcher.js';

export const payloadsTable = 'idp_oidc_payloads';

/** Models whose rows belong to a grant and go when it is revoked (as in the memory adapter). */
export const grantableModels = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
] as const;

/** What every storage of oidc-provider's models takes (the knex one here, the KV one in kv-adapter.ts). */
export interface AdapterOptions {
  /** Virtual server name: everything stored is scoped to it. */
  server: string;
  clock: Clock;
  /**
   * The error a losing `consume` throws after revoking the grant (oidc-provider's `InvalidGrant`, so the
   * token endpoint answers 400 `invalid_grant`).
   */
  alreadyConsumed(model: string): Error;
  /** Adapters that replace the table for some models (e.g. `Client` from the client registry). */
  overrides?: Partial<Record<string, Adapter>>;
}

/**
 * oidc-provider's `ReplayDetection.unique` (the `jti` of DPoP proofs and client assertions) is a `find`
 * followed by a `save` when nothing was found, so concurrent requests carrying one proof would all pass.
 * For this model both adapters make `find` the atomic claim instead: it stores a placeholder — which the
 * `save` right after replaces — and answers "not found" only to the one caller that stored it.
 */
export const replayModel = 'ReplayDetection';
/** How long oidc-provider accepts a proof (its CHALLENGE_OK_WINDOW, 5 minutes): the placeholder's life. */
export const replayWindowMs = 300_000;
/** What a claimed-but-not-yet-saved `jti` reads as (no `exp`, so oidc-provider takes it as found). */
export const replayPlaceholder = (id: string): AdapterPayload => ({ jti: id, kind: replayModel });

/**
 * How long past its expiry a model's payload stays readable. A CIBA request that ran out must still be found
 * (oidc-provider looks it up ignoring expiry) so that polling it answers `expired_token`, not `invalid_grant`.
 */
export function keptAfterExpirySeconds(model: string): number {
  return model === 'BackchannelAuthenticationRequest' ? 600 : 0;
}

export interface KnexAdapterOptions extends AdapterOptions {
  knex: Knex;
}

interface Row {
  payload: string;
  expires_at: unknown;
  consumed_at: unknown;
}

type KeyedRow = Row & { model: string; id: string };

/** One batcher per server: finds of all its models made together share a query. */
function payloadBatcher(knex: Knex, server: string): FindBatcher<KeyedRow> {
  return createFindBatcher<KeyedRow>(
    async (keys) =>
      (await knex(payloadsTable)
        .select('model', 'id', 'payload', 'expires_at', 'consumed_at')
        .where({ server })
        .whereIn(
          ['model', 'id'],
          keys.map((k) => [k.model, k.id]),
        )) as KeyedRow[],
  );
}

const optionalString = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 ? value : null;

/** Storage for one model of one server. */
export class KnexAdapter implements Adapter {
  readonly #knex: Knex;
  readonly #server: string;
  readonly #model: string;
  readonly #clock: Clock;
  readonly #alreadyConsumed: (model: string) => Error;
  readonly #batcher: FindBatcher<KeyedRow>;

  constructor(model: string, options: KnexAdapterOptions, batcher?: FindBatcher<KeyedRow>) {
    this.#knex = options.knex;
    this.#batcher = batcher ?? payloadBatcher(options.knex, options.server);
    this.#server = options.server;
    this.#model = model;
    this.#clock = options.clock;
    this.#alreadyConsumed = options.alreadyConsumed;
  }

  #rows(knex: Knex = this.#knex) {
    return knex(payloadsTable).where({ server: this.#server, model: this.#model });
  }

  /** Unexpired row → payload, with `consumed` (epoch seconds) from the column that `consume` sets. */
  #toPayload(row: Row | undefined): AdapterPayload | undefined {
    if (!row) return undefined;
    const expiresAt = fromDbMillisOrNull(row.expires_at);
    if (expiresAt !== null && expiresAt <= this.#clock.now()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    const consumedAt = fromDbMillisOrNull(row.consumed_at);
    if (consumedAt !== null) payload.consumed = Math.floor(consumedAt / 1000);
    return payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = this.#clock.now();
    const { consumed, ...stored } = payload;
    const values = {
      payload: JSON.stringify(stored),
      grant_id: optionalString(payload.grantId),
      uid: optionalString(payload.uid),
      user_code: optionalString(payload.userCode),
      expires_at:
        typeof expiresIn === 'number' ? now + (expiresIn + keptAfterExpirySeconds(this.#model)) * 1000 : null,
    };
    // `consumed_at` is only ever written by `consume` (or a payload that arrives consumed): a re-save of a
    // row never un-consumes it.
    await this.#knex(payloadsTable)
      .insert({
        server: this.#server,
        model: this.#model,
        id,
        ...values,
        consumed_at: typeof consumed === 'number' && consumed > 0 ? consumed * 1000 : null,
      })
      .onConflict(['server', 'model', 'id'])
      .merge(Object.keys(values));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.#model === replayModel) return this.#claimOnce(id);
    return this.#toPayload(await this.#batcher.find(this.#model, id));
  }

  /** See `replayModel`: the primary key picks the one claimer; a conditional UPDATE reclaims expired rows. */
  async #claimOnce(id: string): Promise<AdapterPayload | undefined> {
    const now = this.#clock.now();
    const claim = { payload: JSON.stringify(replayPlaceholder(id)), expires_at: now + replayWindowMs };
    try {
      await this.#knex(payloadsTable).insert({ server: this.#server, model: this.#model, id, ...claim });
      return undefined;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const affected: unknown = await this.#rows()
      .where({ id })
      .andWhere('expires_at', '<=', now)
      .update(claim);
    return affected === 1 ? undefined : replayPlaceholder(id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#toPayload((await this.#rows().where({ uid }).first()) as Row | undefined);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#toPayload((await this.#rows().where({ user_code: userCode }).first()) as Row | undefined);
  }

  async destroy(id: string): Promise<void> {
    await this.#rows().where({ id }).delete();
  }

  /**
   * One conditional UPDATE; affected rows = 1 names the single winner on all three databases. A loser
   * (used already, or revoked meanwhile) revokes the whole grant — RFC 6749 §4.1.2 and RFC 9700 §4.14.2:
   * a code or refresh token used twice means someone else holds it — and throws.
   */
  async consume(id: string): Promise<void> {
    const now = this.#clock.now();
    const affected: unknown = await this.#rows().where({ id }).whereNull('consumed_at').update({
      consumed_at: now,
    });
    if (affected === 1) return;
    const row = (await this.#rows().where({ id }).first()) as Row | undefined;
    const grantId = row ? (JSON.parse(row.payload) as AdapterPayload).grantId : undefined;
    if (grantId) await revokeGrant(this.#knex, this.#server, grantId);
    throw this.#alreadyConsumed(this.#model);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#knex(payloadsTable)
      .where({ server: this.#server, grant_id: grantId })
      .whereIn('model', grantableModels)
      .delete();
  }
}

/**
 * Deletes the grant, then every token of it: without the grant no token of it is accepted any more (oidc-
 * provider loads the grant on every use), so the order keeps a half-finished revocation effective. No
 * transaction: on SQLite a second in-process connection would wait on it synchronously.
 */
export async function revokeGrant(knex: Knex, server: string, grantId: string): Promise<void> {
  await knex(payloadsTable).where({ server, model: 'Grant', id: grantId }).delete();
  await knex(payloadsTable).where({ server, grant_id: grantId }).whereIn('model', grantableModels).delete();
}

/** The `adapter` option of oidc-provider: a factory called once per model name. */
export function knexAdapterFactory(options: KnexAdapterOptions): (model: string) => Adapter {
  const batcher = payloadBatcher(options.knex, options.server);
  return (model) => options.overrides?.[model] ?? new KnexAdapter(model, options, batcher);
}

/** Deletes rows that expired before `now`; returns how many went (oidc-provider never reads them again). */
export async function sweepExpiredPayloads(knex: Knex, now: number): Promise<number> {
  return Number(
    await knex(payloadsTable).whereNotNull('expires_at').andWhere('expires_at', '<=', now).delete(),
  );
}
