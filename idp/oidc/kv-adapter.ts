// oidc-provider's storage on the shared KV (Redis; in-memory in embedded mode), one instance per virtual
// server: the knex adapter's behaviour (expiry, grant membership, uid and user-code lookups) with an
// atomic `consume` — of N concurrent redemptions of one code or refresh token, on any number of instances
// sharing the Redis, exactly one wins (DESIGN.md §6).
//
// Keys (under the KV's own prefix), one namespace per kind so that no id can be read as another kind:
//   oidc:{server}:payload:{model}:{id}    {"p": payload, "e": expiry in clock ms | null}, TTL = expiresIn
//   oidc:{server}:consumed:{model}:{id}   epoch seconds of the winning consume (SET NX), same expiry
//   oidc:{server}:grant:{grantId}         set of "{model}:{id}" of the grant's tokens, TTL of the longest
//   oidc:{server}:uid:{model}:{uid}       id of the payload with that uid (sessions)
//   oidc:{server}:userCode:{model}:{code} id of the payload with that user code (device flow)
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import {
  type AdapterOptions,
  grantableModels,
  keptAfterExpirySeconds,
  replayModel,
  replayPlaceholder,
  replayWindowMs,
} from './adapter.js';

export interface KvAdapterOptions extends AdapterOptions {
  kv: Kv;
}

const grantable = new Set<string>(grantableModels);

/** The models oidc-provider consumes; only their reads look for a consumed marker. */
export const consumableModels: ReadonlySet<string> = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'PreAuthorizedCode',
]);

/** The KV keys of one virtual server (exported for tests that look at what is stored). */
export function oidcKvKeys(server: string) {
  const base = `oidc:${server}:`;
  return {
    payload: (model: string, id: string) => `${base}payload:${model}:${id}`,
    consumed: (model: string, id: string) => `${base}consumed:${model}:${id}`,
    grant: (grantId: string) => `${base}grant:${grantId}`,
    uid: (model: string, uid: string) => `${base}uid:${model}:${uid}`,
    userCode: (model: string, userCode: string) => `${base}userCode:${model}:${userCode}`,
  };
}

interface Stored {
  p: AdapterPayload;
  /** Clock milliseconds after which the payload counts as gone; null = no expiry. */
  e: number | null;
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** Storage for one model of one server. */
export class KvAdapter implements Adapter {
  readonly #kv: Kv;
  readonly #model: string;
  readonly #options: KvAdapterOptions;
  readonly #keys: ReturnType<typeof oidcKvKeys>;

  constructor(model: string, options: KvAdapterOptions) {
    this.#kv = options.kv;
    this.#model = model;
    this.#options = options;
    this.#keys = oidcKvKeys(options.server);
  }

  /** The unexpired stored payload; the KV expires keys itself, this also honours our clock (tests, skew). */
  async #read(id: string): Promise<Stored | undefined> {
    const raw = await this.#kv.get(this.#keys.payload(this.#model, id));
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as Stored;
    if (stored.e !== null && stored.e <= this.#options.clock.now()) return undefined;
    return stored;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const { consumed, ...rest } = payload;
    // oidc-provider passes whole seconds; a payload due now still gets the KV's smallest TTL.
    const ttlMs =
      typeof expiresIn === 'number'
        ? Math.max(1, Math.ceil((expiresIn + keptAfterExpirySeconds(this.#model)) * 1000))
        : undefined;
    const options = ttlMs === undefined ? {} : { ttlMs };
    const stored: Stored = { p: rest, e: ttlMs === undefined ? null : this.#options.clock.now() + ttlMs };
    const model = this.#model;
    // Membership first: whenever a token of a grant can be read, revoking the grant finds it.
    if (grantable.has(model) && nonEmpty(payload.grantId)) {
      await this.#kv.setAdd(this.#keys.grant(payload.grantId), `${model}:${id}`, options);
    }
    if (nonEmpty(payload.uid)) await this.#kv.set(this.#keys.uid(model, payload.uid), id, options);
    if (nonEmpty(payload.userCode)) {
      await this.#kv.set(this.#keys.userCode(model, payload.userCode), id, options);
    }
    await this.#kv.set(this.#keys.payload(model, id), JSON.stringify(stored), options);
    // The marker is a key of its own, so a re-save (oidc-provider saves models again) never un-consumes;
    // it takes the payload's new expiry, so a consumed payload never outlives its marker.
    if (consumableModels.has(model)) {
      const key = this.#keys.consumed(model, id);
      const marker =
        typeof consumed === 'number' && consumed > 0 ? String(consumed) : await this.#kv.get(key);
      if (marker !== null) await this.#kv.set(key, marker, options);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.#model === replayModel) return this.#claimOnce(id);
    const [stored, consumed] = await Promise.all([
      this.#read(id),
      consumableModels.has(this.#model) ? this.#kv.get(this.#keys.consumed(this.#model, id)) : null,
    ]);
    if (!stored) return undefined;
    return consumed === null ? stored.p : { ...stored.p, consumed: Number(consumed) };
  }

  /** See `replayModel` in adapter.ts: SET NX picks the single claimer. */
  async #claimOnce(id: string): Promise<AdapterPayload | undefined> {
    const placeholder: Stored = { p: replayPlaceholder(id), e: this.#options.clock.now() + replayWindowMs };
    const key = this.#keys.payload(this.#model, id);
    const claimed = await this.#kv.set(key, JSON.stringify(placeholder), {
      ifAbsent: true,
      ttlMs: replayWindowMs,
    });
    return claimed ? undefined : placeholder.p;
  }

  /** Through the index, then checked: an index entry may outlive a re-save under another uid. */
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.#kv.get(this.#keys.uid(this.#model, uid));
    const payload = id === null ? undefined : await this.find(id);
    return payload?.uid === uid ? payload : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.#kv.get(this.#keys.userCode(this.#model, userCode));
    const payload = id === null ? undefined : await this.find(id);
    return payload?.userCode === userCode ? payload : undefined;
  }

  async destroy(id: string): Promise<void> {
    // Index entries go with their TTL; lookups through them check what they find. The consumed marker
    // stays until its own TTL (see revokeGrantTokens).
    await this.#kv.del(this.#keys.payload(this.#model, id));
  }

  /**
   * SET NX of the consumed marker names the single winner across every client of the KV. A loser (used
   * already, expired or revoked meanwhile) revokes the whole grant — RFC 6749 §4.1.2 and RFC 9700
   * §4.14.2: a code or refresh token used twice means someone else holds it — and throws.
   */
  async consume(id: string): Promise<void> {
    const stored = await this.#read(id);
    if (stored) {
      const left = stored.e === null ? undefined : stored.e - this.#options.clock.now();
      if (left === undefined || left > 0) {
        const won = await this.#kv.set(
          this.#keys.consumed(this.#model, id),
          String(Math.floor(this.#options.clock.now() / 1000)),
          { ifAbsent: true, ...(left !== undefined && { ttlMs: Math.ceil(left) }) },
        );
        if (won) return;
      }
    }
    const grantId = stored?.p.grantId;
    if (nonEmpty(grantId)) await revokeKvGrant(this.#kv, this.#options.server, grantId);
    throw this.#options.alreadyConsumed(this.#model);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await revokeGrantTokens(this.#kv, this.#keys, grantId);
  }
}

/**
 * Deletes every token of the grant. The membership set itself is left to expire: a token saved while
 * this runs is still in it for the next revocation (oidc-provider revokes per model, several times).
 * Consumed markers are never deleted (they expire with what they marked): a consume that read the payload
 * just before this deleted it would otherwise find no marker and win a second time.
 */
async function revokeGrantTokens(kv: Kv, keys: ReturnType<typeof oidcKvKeys>, grantId: string) {
  const members = await kv.setMembers(keys.grant(grantId));
  await Promise.all(
    members.map(async (member) => {
      const colon = member.indexOf(':');
      const [model, id] = [member.slice(0, colon), member.slice(colon + 1)];
      await kv.del(keys.payload(model, id));
    }),
  );
}

/**
 * The Grant first, then its tokens: every token use loads the grant, so the first delete already makes the
 * rest unusable (as in the knex adapter's `revokeGrant`).
 */
export async function revokeKvGrant(kv: Kv, server: string, grantId: string): Promise<void> {
  const keys = oidcKvKeys(server);
  await kv.del(keys.payload('Grant', grantId));
  await revokeGrantTokens(kv, keys, grantId);
}

/** The `adapter` option of oidc-provider: a factory called once per model name. */
export function kvAdapterFactory(options: KvAdapterOptions): (model: string) => Adapter {
  return (model) => options.overrides?.[model] ?? new KvAdapter(model, options);
}
