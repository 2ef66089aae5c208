// OIDC clients per virtual server, registered by an administrator (`nextauth oidc client add`): a small
// table read by oidc-provider through the `Client` adapter, so a client added or removed is seen at once.
import type { Knex } from 'knex';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { z } from 'zod';
import { type Clock, type Random, randomToken } from '../../auth-server/common/clock.js';
import { openString, seal } from '../../auth-server/common/crypto/secret-box.js';
import { rethrowConflict } from '../../auth-server/common/db/errors.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';

export const clientsTable = 'idp_oidc_clients';

/** The grant types a client may be registered with. */
export const clientGrantTypes = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
/** What `add` registers when no grant types are given: a web app that logs users in. */
export const defaultGrantTypes = ['authorization_code', 'refresh_token'] as const;

const serverName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'not a virtual server name');

/** A redirect URI as RFC 6749 §3.1.2 wants it: absolute, no fragment; http(s) only in this slice. */
const redirectUri = z
  .string()
  .max(2000)
  .refine((value) => {
    const url = URL.parse(value);
    return url !== null && /^https?:$/.test(url.protocol) && url.hash === '' && !value.includes('#');
  }, 'expected an absolute http(s) URL without a fragment');

export const newClientSchema = z
  .strictObject({
    server: serverName,
    /** RFC 6749 §A.1 allows any printable ASCII; we keep to characters that need no escaping anywhere. */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,255}$/, 'expected 1-255 characters of A-Z a-z 0-9 . _ ~ -'),
    /** Absent for a confidential client: one is generated and returned once. */
    secret: z.string().min(16, 'expected at least 16 characters').max(512).optional(),
    public: z.boolean().default(false),
    /** Required with authorization_code, refused without it (nothing would ever redirect there). */
    redirectUris: z.array(redirectUri).max(50).default([]),
    /** Where RP-initiated logout may send the browser afterwards; matched exactly. */
    postLogoutRedirectUris: z.array(redirectUri).max(50).default([]),
    /**
     * OIDC Back-Channel Logout 1.0: NS posts a logout token here when the user's IdP session ends. Reached
     * through the allow-listed outbound client (public addresses and NEXTAUTH_OUTBOUND_ALLOW).
     */
    backchannelLogoutUri: redirectUri.optional(),
    grantTypes: z
      .array(z.enum(clientGrantTypes))
      .min(1)
      .max(clientGrantTypes.length)
      .default([...defaultGrantTypes])
      .refine((g) => new Set(g).size === g.length, 'a grant type is listed twice'),
    name: z.string().min(1).max(200).optional(),
    /** Not the operator's own application: the user consents to what it asks for (DESIGN.md §5). */
    thirdParty: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
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
  });
export type NewClient = z.input<typeof newClientSchema>;

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
  createdAt: Date;
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
    grantTypes: m.grant_types,
    name: m.client_name ?? null,
    thirdParty: m[thirdPartyProperty] === true,
    createdAt: new Date(fromDbMillis(row.created_at)),
  };
}

export interface ClientRepository {
  /** Throws ConflictError when the id is taken on that server; returns a generated secret once. */
  add(input: NewClient): Promise<{ client: OidcClient; secret?: string }>;
  list(server?: string): Promise<OidcClient[]>;
  /** True when a client was removed. */
  remove(server: string, clientId: string): Promise<boolean>;
  /** The metadata oidc-provider validates and uses, secret included (opened from the secret box). */
  providerMetadata(server: string, clientId: string): Promise<AdapterPayload | undefined>;
}

export function createClientRepository(deps: {
  knex: Knex;
  secretKey: string;
  clock: Clock;
  random: Random;
}): ClientRepository {
  const { knex, secretKey, clock, random } = deps;
  return {
    async add(input) {
      const c = newClientSchema.parse(input);
      const secret = c.public ? undefined : (c.secret ?? randomToken(random, 32));
      const metadata: StoredMetadata = {
        client_id: c.clientId,
        token_endpoint_auth_method: c.public ? 'none' : 'client_secret_basic',
        redirect_uris: c.redirectUris,
        ...(c.postLogoutRedirectUris.length > 0
          ? { post_logout_redirect_uris: c.postLogoutRedirectUris }
          : {}),
        // With `sid` in the logout token the RP can end just the session of that browser.
        ...(c.backchannelLogoutUri !== undefined
          ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
        grant_types: c.grantTypes,
        // A client without authorization_code (client_credentials only) never uses the authorization endpoint.
        response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
        ...(c.name !== undefined ? { client_name: c.name } : {}),
        ...(c.thirdParty ? { [thirdPartyProperty]: true } : {}),
      };
      const now = clock.now();
      const row: Row = {
        server: c.server,
        client_id: c.clientId,
        metadata: JSON.stringify(metadata),
        sealed_secret:
          secret === undefined ? null : seal(secretKey, sealContext(c.server, c.clientId), secret),
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(clientsTable).insert(row);
      } catch (err) {
        rethrowConflict(err, 'oidc client', `${c.server}/${c.clientId}`);
      }
      const generated = c.secret === undefined && secret !== undefined;
      return { client: toDomain(row), ...(generated ? { secret } : {}) };
    },

    async list(server) {
      const query = knex<Row>(clientsTable).orderBy(['server', 'client_id']);
      const rows = (await (server === undefined ? query : query.where({ server }))) as Row[];
      return rows.map(toDomain);
    },

    async remove(server, clientId) {
      const deleted = await knex(clientsTable).where({ server, client_id: clientId }).delete();
      return Number(deleted) > 0;
    },

    async providerMetadata(server, clientId) {
      const row = (await knex<Row>(clientsTable).where({ server, client_id: clientId }).first()) as
        | Row
        | undefined;
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
    },
  };
}

/** oidc-provider's `Client` model read from the registry; registration through oidc-provider is off. */
export function clientAdapter(clients: ClientRepository, server: string): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('OIDC clients are managed with `nextauth oidc client`, not through oidc-provider');
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
