// OIDC clients per virtual server, registered by an administrator (IdP management API, `nextauth oidc
// client`): a small table read by oidc-provider through the `Client` adapter, so a change is seen at once.
import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { z } from 'zod';
import { type Clock, type Random, randomToken } from '../../auth-server/common/clock.js';
import { openString, seal } from '../../auth-server/common/crypto/secret-box.js';
import { rethrowConflict } from '../../auth-server/common/db/errors.js';
import { lockRows } from '../../auth-server/common/db/lock.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';
import { markerCodec } from '../../auth-server/common/paging/marker.js';
import { type CibaDeliveryMode, cibaDeliveryModes, cibaGrantType } from './ciba.js';

export const clientsTable = 'idp_oidc_clients';

/** The grant types a client may be registered with. */
export const clientGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
/** What `add` registers when no grant types are given: a web app that logs users in. */
export const defaultGrantTypes = ['authorization_code', 'refresh_token'] as const;

export const serverName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'not a virtual server name');

/** RFC 6749 §A.1 allows any printable ASCII; we keep to characters that need no escaping anywhere. */
export const clientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._~-]{1,255}$/, 'expected 1-255 characters of A-Z a-z 0-9 . _ ~ -');

/** A redirect URI as RFC 6749 §3.1.2 wants it: absolute, no fragment; http(s) only in this slice. */
const redirectUri = z
  .string()
  .max(2000)
  .refine((value) => {
    const url = URL.parse(value);
    return url !== null && /^https?:$/.test(url.protocol) && url.hash === '' && !value.includes('#');
  }, 'expected an absolute http(s) URL without a fragment');

/** Whether `sub` is the NS userid (`public`) or differs per sector (`pairwise`, OIDC Core §8.1). */
export const subjectTypes = ['public', 'pairwise'] as const;

// Empty only for a client that uses CIBA alone (checkRules).
const grantTypesSchema = z
  .array(z.enum(clientGrantTypes))
  .max(clientGrantTypes.length)
  .refine((g) => new Set(g).size === g.length, 'a grant type is listed twice');

/** What an administrator may set on a client, with or without defaults (registration vs. PATCH). */
const settableFields = {
  /** Required with authorization_code, refused without it (nothing would ever redirect there). */
  redirectUris: z.array(redirectUri).max(50),
  /** Where RP-initiated logout may send the browser afterwards; matched exactly. */
  postLogoutRedirectUris: z.array(redirectUri).max(50),
  grantTypes: grantTypesSchema,
  /** Not the operator's own application: the user consents to what it asks for (DESIGN.md §5). */
  thirdParty: z.boolean(),
  subjectType: z.enum(subjectTypes),
  /** RFC 9126 §5: authorization requests of this client must come through PAR. */
  requirePar: z.boolean(),
  /** OIDC CIBA: the token delivery mode (`push` is not offered); null/absent: no CIBA. */
  ciba: z.enum(cibaDeliveryModes),
  /**
   * CIBA ping: the client notification endpoint, reached through the allow-listed outbound client (public
   * addresses and NEXTAUTH_OUTBOUND_ALLOW; checked at registration by the management API).
   */
  cibaNotify: redirectUri,
};

const nameSchema = z.string().min(1).max(200);

interface ClientRules {
  public: boolean;
  secret?: string | undefined;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri?: string | undefined;
  grantTypes: readonly string[];
  subjectType: (typeof subjectTypes)[number];
  requirePar: boolean;
  ciba?: CibaDeliveryMode | undefined;
  cibaNotify?: string | undefined;
}

/** The rules between fields, for a new client and for a client after a PATCH alike. */
function checkRules(c: ClientRules, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const code = c.grantTypes.includes('authorization_code');
  if (c.public && c.secret !== undefined) issue('secret', 'a public client has no secret');
  // Nothing authenticates a public client, so it cannot stand for itself (RFC 6749 §4.4).
  if (c.public && c.grantTypes.includes('client_credentials'))
    issue('grantTypes', 'client_credentials needs a confidential client');
  // A refresh token is only ever issued with an authorization code.
  if (c.grantTypes.includes('refresh_token') && !code)
    issue('grantTypes', 'refresh_token needs authorization_code');
  if (code && c.redirectUris.length === 0) issue('redirectUris', 'at least one redirect URI');
  if (!code && c.redirectUris.length > 0) issue('redirectUris', 'redirect URIs need authorization_code');
  if (!code && c.postLogoutRedirectUris.length > 0)
    issue('postLogoutRedirectUris', 'post-logout redirect URIs need authorization_code');
  // Only a user's session can end; a client that never logs users in has none to hear about.
  if (!code && c.backchannelLogoutUri !== undefined)
    issue('backchannelLogoutUri', 'back-channel logout needs authorization_code');
  if (!code && c.requirePar) issue('requirePar', 'PAR needs authorization_code');
  if (c.grantTypes.length === 0 && c.ciba === undefined) issue('grantTypes', 'at least one grant type');
  // CIBA's backchannel endpoint authenticates the client: nobody could ask in the name of a public one.
  if (c.public && c.ciba !== undefined) issue('ciba', 'CIBA needs a confidential client');
  if (c.ciba === 'ping' && c.cibaNotify === undefined) issue('cibaNotify', 'CIBA ping needs --ciba-notify');
  if (c.ciba !== 'ping' && c.cibaNotify !== undefined)
    issue('cibaNotify', 'a notification endpoint is for CIBA ping only');
  // oidc-provider asks private_key_jwt of pairwise CIBA clients, which this registry does not offer.
  if (c.ciba !== undefined && c.subjectType === 'pairwise')
    issue('ciba', 'CIBA clients have public subjects');
  if (c.subjectType === 'pairwise') {
    // A client without users has no subjects; client_credentials tokens carry the client as `sub`.
    if (!code) issue('subjectType', 'pairwise subjects need authorization_code');
    // OIDC Core §8.1: the sector is the redirect URIs' host; several hosts would need a
    // sector_identifier_uri document, which this registry does not fetch.
    else if (new Set(c.redirectUris.map((u) => new URL(u).host)).size > 1)
      issue('subjectType', 'pairwise subjects need all redirect URIs on one host (the sector)');
  }
}

/** A client as an administrator registers it; the server comes from where it is registered. */
const registrationFields = {
  clientId: clientIdSchema,
  /** Absent for a confidential client: one is generated and returned once. */
  secret: z.string().min(16, 'expected at least 16 characters').max(512).optional(),
  public: z.boolean().default(false),
  redirectUris: settableFields.redirectUris.default([]),
  postLogoutRedirectUris: settableFields.postLogoutRedirectUris.default([]),
  /**
   * OIDC Back-Channel Logout 1.0: NS posts a logout token here when the user's IdP session ends. Reached
   * through the allow-listed outbound client (public addresses and NEXTAUTH_OUTBOUND_ALLOW).
   */
  backchannelLogoutUri: redirectUri.optional(),
  grantTypes: settableFields.grantTypes.default([...defaultGrantTypes]),
  name: nameSchema.optional(),
  thirdParty: settableFields.thirdParty.default(false),
  subjectType: settableFields.subjectType.default('public'),
  requirePar: settableFields.requirePar.default(false),
  ciba: settableFields.ciba.optional(),
  cibaNotify: settableFields.cibaNotify.optional(),
};

/** The body of `POST /idp/api/v1/servers/{server}/oidc/clients`. */
export const clientRegistrationSchema = z.strictObject(registrationFields).superRefine(checkRules);

export const newClientSchema = z
  .strictObject({ server: serverName, ...registrationFields })
  .superRefine(checkRules);
export type NewClient = z.input<typeof newClientSchema>;

/**
 * A PATCH: members given replace the stored ones (`null` removes the back-channel URI or the name). The
 * result is checked by the same rules as a new client. Secret and client type are fixed at registration:
 * changing them is a new client.
 */
export const clientPatchSchema = z
  .strictObject({
    redirectUris: settableFields.redirectUris.optional(),
    postLogoutRedirectUris: settableFields.postLogoutRedirectUris.optional(),
    backchannelLogoutUri: redirectUri.nullable().optional(),
    grantTypes: settableFields.grantTypes.optional(),
    name: nameSchema.nullable().optional(),
    thirdParty: settableFields.thirdParty.optional(),
    subjectType: settableFields.subjectType.optional(),
    requirePar: settableFields.requirePar.optional(),
    /** null switches CIBA off. */
    ciba: settableFields.ciba.nullable().optional(),
    cibaNotify: settableFields.cibaNotify.nullable().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');
export type ClientPatch = z.input<typeof clientPatchSchema>;

export interface OidcClient {
  server: string;
  clientId: string;
  public: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  grantTypes: string[];
  name: string | null;
  thirdParty: boolean;
  subjectType: (typeof subjectTypes)[number];
  requirePar: boolean;
  /** OIDC CIBA delivery mode, null without CIBA. */
  ciba: CibaDeliveryMode | null;
  /** CIBA ping's client notification endpoint. */
  cibaNotify: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Client metadata of ours that oidc-provider carries (`extraClientMetadata`), read as `client[name]`. */
export const thirdPartyProperty = 'nextauth_third_party';

/** Whether oidc-provider's client was registered with `--third-party`. */
export function isThirdParty(client: object | undefined): boolean {
  return (client as Record<string, unknown> | undefined)?.[thirdPartyProperty] === true;
}

/** What is stored as JSON: oidc-provider client metadata minus the secret. */
const storedMetadataSchema = z.looseObject({
  client_id: z.string(),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_basic']),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()).optional(),
  backchannel_logout_uri: z.string().optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  client_name: z.string().optional(),
  subject_type: z.enum(subjectTypes).optional(),
  require_pushed_authorization_requests: z.boolean().optional(),
  backchannel_token_delivery_mode: z.enum(cibaDeliveryModes).optional(),
  backchannel_client_notification_endpoint: z.string().optional(),
  backchannel_user_code_parameter: z.boolean().optional(),
  [thirdPartyProperty]: z.boolean().optional(),
});
type StoredMetadata = z.output<typeof storedMetadataSchema>;

interface Row {
  server: string;
  client_id: string;
  metadata: string;
  sealed_secret: string | null;
  created_at: unknown;
  updated_at: unknown;
}

/** A sealed secret opens only on its own row. */
const sealContext = (server: string, clientId: string) => `idp-oidc-client-secret:${server}:${clientId}`;

function toDomain(row: Row): OidcClient {
  const m = storedMetadataSchema.parse(JSON.parse(row.metadata));
  return {
    server: row.server,
    clientId: row.client_id,
    public: m.token_endpoint_auth_method === 'none',
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris ?? [],
    backchannelLogoutUri: m.backchannel_logout_uri ?? null,
    grantTypes: m.grant_types.filter((g) => g !== cibaGrantType),
    name: m.client_name ?? null,
    thirdParty: m[thirdPartyProperty] === true,
    subjectType: m.subject_type ?? 'public',
    requirePar: m.require_pushed_authorization_requests === true,
    ciba: m.backchannel_token_delivery_mode ?? null,
    cibaNotify: m.backchannel_client_notification_endpoint ?? null,
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  };
}

/** oidc-provider client metadata (RFC 7591 names) of a validated client, without the secret. */
function toMetadata(c: z.output<typeof newClientSchema>): StoredMetadata {
  return {
    client_id: c.clientId,
    token_endpoint_auth_method: c.public ? 'none' : 'client_secret_basic',
    redirect_uris: c.redirectUris,
    ...(c.postLogoutRedirectUris.length > 0 ? { post_logout_redirect_uris: c.postLogoutRedirectUris } : {}),
    // With `sid` in the logout token the RP can end just the session of that browser.
    ...(c.backchannelLogoutUri !== undefined
      ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
    grant_types: c.ciba !== undefined ? [...c.grantTypes, cibaGrantType] : c.grantTypes,
    // A client without authorization_code (client_credentials only) never uses the authorization endpoint.
    response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(c.name !== undefined ? { client_name: c.name } : {}),
    ...(c.subjectType === 'pairwise' ? { subject_type: 'pairwise' as const } : {}),
    ...(c.requirePar ? { require_pushed_authorization_requests: true } : {}),
    ...(c.ciba !== undefined
      ? { backchannel_token_delivery_mode: c.ciba, backchannel_user_code_parameter: false }
      : {}),
    ...(c.cibaNotify !== undefined ? { backchannel_client_notification_endpoint: c.cibaNotify } : {}),
    ...(c.thirdParty ? { [thirdPartyProperty]: true } : {}),
  };
}

/** A stored client with a PATCH applied, as registration input (so the same rules check it). */
function patched(current: OidcClient, patch: z.output<typeof clientPatchSchema>): NewClient {
  const backchannel =
    patch.backchannelLogoutUri === undefined ? current.backchannelLogoutUri : patch.backchannelLogoutUri;
  const name = patch.name === undefined ? current.name : patch.name;
  const ciba = patch.ciba === undefined ? current.ciba : patch.ciba;
  // Switching CIBA off (or to poll) drops the notification endpoint unless the patch names one.
  const cibaNotify =
    patch.cibaNotify !== undefined ? patch.cibaNotify : ciba === 'ping' ? current.cibaNotify : null;
  return {
    server: current.server,
    clientId: current.clientId,
    public: current.public,
    redirectUris: patch.redirectUris ?? current.redirectUris,
    postLogoutRedirectUris: patch.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
    ...(backchannel !== null ? { backchannelLogoutUri: backchannel } : {}),
    grantTypes: (patch.grantTypes ?? current.grantTypes) as NewClient['grantTypes'],
    ...(name !== null ? { name } : {}),
    thirdParty: patch.thirdParty ?? current.thirdParty,
    subjectType: patch.subjectType ?? current.subjectType,
    requirePar: patch.requirePar ?? current.requirePar,
    ...(ciba !== null ? { ciba } : {}),
    ...(cibaNotify !== null ? { cibaNotify } : {}),
  };
}

export const maxClientPageSize = 100;
/** The last client id of a page (ids are at most 255 characters). */
const markers = markerCodec(z.strictObject({ v: z.literal(1), id: z.string().max(255) }), 400);
export const maxClientMarkerLength = markers.maxLength;

/** Runs inside the write's transaction, after the write: throwing rolls the write back (the audit record). */
export type InsideWrite<T> = (result: T) => Promise<void>;

export interface ClientRepository {
  /** Throws ConflictError when the id is taken on that server; returns a generated secret once. */
  add(input: NewClient, inside?: InsideWrite<OidcClient>): Promise<{ client: OidcClient; secret?: string }>;
  get(server: string, clientId: string): Promise<OidcClient | undefined>;
  /** One page of a server's clients by client id; `marker` is the previous page's `nextMarker`. */
  page(
    server: string,
    options?: { limit?: number; marker?: string },
  ): Promise<{ clients: OidcClient[]; nextMarker: string | null }>;
  /** The changed client, or undefined when there is none. Throws ZodError when the result breaks a rule. */
  update(
    server: string,
    clientId: string,
    patch: ClientPatch,
    inside?: InsideWrite<OidcClient>,
  ): Promise<OidcClient | undefined>;
  /** True when a client was removed. */
  remove(server: string, clientId: string, inside?: InsideWrite<OidcClient>): Promise<boolean>;
  /** The metadata oidc-provider validates and uses, secret included (opened from the secret box). */
  providerMetadata(server: string, clientId: string): Promise<AdapterPayload | undefined>;
}

/**
 * How long oidc-provider's view of a client may be reused without reading the registry: every token,
 * introspection and authorization request names its client, and reading and opening the sealed secret each
 * time cost as much as the token lookup itself. A change made through this process is seen at once; one made
 * through another instance within this time (the providers themselves re-check keys every 30 s).
 */
export const clientMetadataTtlMs = 5000;
/** Bound on cached clients (unknown ids are cached too, so a flood of made-up ids cannot grow it). */
const maxCachedClients = 10_000;

export function createClientRepository(deps: {
  knex: Knex;
  secretKey: string;
  clock: Clock;
  random: Random;
}): ClientRepository {
  const { knex, secretKey, clock, random } = deps;
  const find = async (db: Knex, server: string, clientId: string) =>
    (await db<Row>(clientsTable).where({ server, client_id: clientId }).first()) as Row | undefined;

  // A promise per client, so concurrent requests of one client share one read.
  const metadataCache = new Map<string, { until: number; value: Promise<AdapterPayload | undefined> }>();
  const cacheKey = (server: string, clientId: string) => `${server}\0${clientId}`;
  const forget = (server: string, clientId: string) => metadataCache.delete(cacheKey(server, clientId));

  const loadMetadata = async (server: string, clientId: string): Promise<AdapterPayload | undefined> => {
    const row = await find(knex, server, clientId);
    if (!row) return undefined;
    const metadata = storedMetadataSchema.parse(JSON.parse(row.metadata));
    const secret =
      row.sealed_secret === null
        ? undefined
        : openString(secretKey, sealContext(server, clientId), row.sealed_secret);
    return {
      ...metadata,
      // Every client gets `auth_time` in its ID tokens (RPs check it against max_age).
      require_auth_time: true,
      ...(secret !== undefined ? { client_secret: secret } : {}),
    } as AdapterPayload;
  };

  return {
    async add(input, inside) {
      const c = newClientSchema.parse(input);
      const secret = c.public ? undefined : (c.secret ?? randomToken(random, 32));
      const now = clock.now();
      const row: Row = {
        server: c.server,
        client_id: c.clientId,
        metadata: JSON.stringify(toMetadata(c)),
        sealed_secret:
          secret === undefined ? null : seal(secretKey, sealContext(c.server, c.clientId), secret),
        created_at: now,
        updated_at: now,
      };
      const client = toDomain(row);
      try {
        await knex.transaction(async (trx) => {
          await trx(clientsTable).insert(row);
          await inside?.(client);
        });
      } catch (err) {
        rethrowConflict(err, 'oidc client', `${c.server}/${c.clientId}`);
      }
      forget(c.server, c.clientId);
      const generated = c.secret === undefined && secret !== undefined;
      return { client, ...(generated ? { secret } : {}) };
    },

    async get(server, clientId) {
      const row = await find(knex, server, clientId);
      return row ? toDomain(row) : undefined;
    },

    async page(server, options = {}) {
      const limit = options.limit ?? maxClientPageSize;
      const after = options.marker !== undefined ? markers.decode(options.marker).id : undefined;
      const query = knex<Row>(clientsTable)
        .where({ server })
        .orderBy('client_id')
        .limit(limit + 1);
      if (after !== undefined) query.andWhere('client_id', '>', after);
      // One extra row tells whether another page exists.
      const rows = (await query) as Row[];
      const clients = rows.slice(0, limit).map(toDomain);
      const last = clients.at(-1);
      return {
        clients,
        nextMarker: rows.length > limit && last ? markers.encode({ v: 1, id: last.clientId }) : null,
      };
    },

    async update(server, clientId, patch, inside) {
      const changes = clientPatchSchema.parse(patch);
      const updated = await knex.transaction(async (trx) => {
        // Concurrent PATCHes of one client apply one after the other, each to the other's result.
        if ((await lockRows(trx, clientsTable, { server, client_id: clientId }, 'updated_at')) === 0)
          return undefined;
        const row = await find(trx, server, clientId);
        if (!row) return undefined;
        const merged = newClientSchema.parse(patched(toDomain(row), changes));
        const metadata = JSON.stringify(toMetadata(merged));
        const updatedAt = Math.max(clock.now(), fromDbMillis(row.updated_at));
        await trx(clientsTable)
          .where({ server, client_id: clientId })
          .update({ metadata, updated_at: updatedAt });
        const client = toDomain({ ...row, metadata, updated_at: updatedAt });
        await inside?.(client);
        return client;
      });
      forget(server, clientId);
      return updated;
    },

    async remove(server, clientId, inside) {
      const removed = await knex.transaction(async (trx) => {
        const row = await find(trx, server, clientId);
        if (!row) return false;
        const deleted = await trx(clientsTable).where({ server, client_id: clientId }).delete();
        // A concurrent removal won: only one of them is recorded.
        if (Number(deleted) === 0) return false;
        await inside?.(toDomain(row));
        return true;
      });
      forget(server, clientId);
      return removed;
    },

    async providerMetadata(server, clientId) {
      const key = cacheKey(server, clientId);
      const now = clock.now();
      let entry = metadataCache.get(key);
      if (!entry || entry.until <= now) {
        if (metadataCache.size >= maxCachedClients) metadataCache.clear();
        const value = loadMetadata(server, clientId);
        entry = { until: now + clientMetadataTtlMs, value };
        metadataCache.set(key, entry);
        // A failed read is not kept: the next request tries again.
        value.catch(() => forget(server, clientId));
      }
      // oidc-provider must not change what the next request gets.
      return entry.value.then((m) => (m ? structuredClone(m) : undefined));
    },
  };
}

/** oidc-provider's `Client` model read from the registry; registration through oidc-provider is off. */
export function clientAdapter(clients: ClientRepository, server: string): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('OIDC clients are managed through /idp/api/v1, not through oidc-provider');
  };
  return {
    find: (id) => clients.providerMetadata(server, id),
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    upsert: readOnly,
    destroy: readOnly,
    consume: readOnly,
    revokeByGrantId: async () => {},
  };
}
