// The IdP management API (`/idp/api/v1`) as data: paths, access and the zod schemas the routes validate
// with — the single source of the routes' input and of the OpenAPI document (as for NS REST v2).
import { z } from 'zod';
import type { ApiOperation } from '../../auth-server/ns/api/openapi/operation.js';
import { pageQueryFields } from '../../auth-server/ns/api/operations/paging.js';
import {
  clientIdSchema,
  clientPatchSchema,
  clientRegistrationSchema,
  maxClientMarkerLength,
  maxClientPageSize,
  serverName,
  subjectTypes,
} from '../oidc/clients.js';
import { signingAlgs } from '../oidc/signing-keys.js';
import { keyUses } from '../saml/keys.js';
import { maxMetadataBytes } from '../saml/sp-metadata.js';
import { attributeNameSchema, claimSchema, entityIdSchema, signModes } from '../saml/sps.js';
import { nameIdFormatNames } from '../saml/subject.js';

/**
 * NS roles that may manage a server's IdP configuration: `servers` (the tenant's administrator role in NS
 * REST too) and `root` (which holds every role).
 */
export const idpAdminRoles = ['servers'] as const;

const instant = z.iso.datetime();

export const serverParams = z.strictObject({ server: serverName.describe('Virtual server name') });
export const clientParams = serverParams.extend({
  clientId: clientIdSchema.describe('The client_id (URL-encoded)'),
});

export const oidcClientSchema = z.object({
  server: z.string(),
  clientId: z.string(),
  issuer: z.string().describe('The OpenID Provider the client talks to: `{PUBLIC_URL}/oidc/{server}`'),
  public: z.boolean().describe('No secret (`token_endpoint_auth_method: none`); PKCE with S256 required'),
  tokenEndpointAuthMethod: z.enum(['none', 'client_secret_basic']),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  backchannelLogoutUri: z.string().nullable(),
  grantTypes: z.array(z.string()),
  name: z.string().nullable(),
  thirdParty: z.boolean().describe('Users are asked for consent'),
  subjectType: z.enum(subjectTypes).describe('`pairwise`: `sub` differs per sector (redirect URI host)'),
  requirePar: z.boolean().describe('`require_pushed_authorization_requests` (RFC 9126)'),
  ciba: z
    .enum(['poll', 'ping'])
    .nullable()
    .describe('OIDC CIBA token delivery mode (`backchannel_token_delivery_mode`); null: no CIBA'),
  cibaNotify: z
    .string()
    .nullable()
    .describe('CIBA ping: `backchannel_client_notification_endpoint` (allow-listed outbound target)'),
  createdAt: instant,
  updatedAt: instant,
});

export const createdClientSchema = oidcClientSchema.extend({
  secret: z
    .string()
    .optional()
    .describe('The generated client secret: only in this answer, and only when none was given'),
});

export const clientPageSchema = z.object({
  clients: z.array(oidcClientSchema),
  next_marker: z.string().nullable().describe('null on the last page'),
});

export const signingKeySchema = z.object({
  kid: z.string().describe('RFC 7638 thumbprint; the JWS `kid`'),
  alg: z.enum(signingAlgs),
  state: z
    .enum(['current', 'next', 'retired'])
    .describe(
      '`current` signs; `next` is published and signs after the next rotation; `retired` verifies only',
    ),
  createdAt: instant,
  activatedAt: instant.nullable(),
  retiredAt: instant.nullable(),
});

export const signingKeyListSchema = z.object({ keys: z.array(signingKeySchema) });

const access = { roles: idpAdminRoles };

export const clientOperations = {
  list: {
    method: 'get',
    path: '/api/v1/servers/{server}/oidc/clients',
    operationId: 'listOidcClients',
    summary: "The server's OIDC clients by client_id, one page at a time (never their secrets)",
    tag: 'oidc-clients',
    access,
    params: serverParams,
    query: z.strictObject(pageQueryFields(maxClientPageSize, maxClientMarkerLength)),
    responses: { 200: { description: 'One page of clients', schema: clientPageSchema } },
    problems: [400, 401, 403, 404],
  },
  create: {
    method: 'post',
    path: '/api/v1/servers/{server}/oidc/clients',
    operationId: 'createOidcClient',
    summary: 'Register a client; a generated secret is returned once',
    description:
      'Without `secret` and `public` a secret is generated. `authorization_code` needs redirect URIs; `pairwise` needs them on one host.',
    tag: 'oidc-clients',
    access,
    params: serverParams,
    body: clientRegistrationSchema,
    responses: { 201: { description: 'The client (and a generated secret)', schema: createdClientSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415],
  },
  get: {
    method: 'get',
    path: '/api/v1/servers/{server}/oidc/clients/{clientId}',
    operationId: 'getOidcClient',
    summary: 'One client (never its secret)',
    tag: 'oidc-clients',
    access,
    params: clientParams,
    responses: { 200: { description: 'The client', schema: oidcClientSchema } },
    problems: [401, 403, 404],
  },
  update: {
    method: 'patch',
    path: '/api/v1/servers/{server}/oidc/clients/{clientId}',
    operationId: 'updateOidcClient',
    summary: 'Change a client: members given replace the stored ones, `null` removes an optional one',
    description:
      'The result must satisfy the same rules as a new client. Secret and client type (public or confidential) are fixed at registration.',
    tag: 'oidc-clients',
    access,
    params: clientParams,
    body: clientPatchSchema,
    responses: { 200: { description: 'The changed client', schema: oidcClientSchema } },
    problems: [400, 401, 403, 404, 413, 415],
  },
  delete: {
    method: 'delete',
    path: '/api/v1/servers/{server}/oidc/clients/{clientId}',
    operationId: 'deleteOidcClient',
    summary: 'Remove a client; its tokens stop working at their next use',
    tag: 'oidc-clients',
    access,
    params: clientParams,
    responses: { 204: { description: 'Removed' } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;

export const keyOperations = {
  list: {
    method: 'get',
    path: '/api/v1/servers/{server}/oidc/keys',
    operationId: 'listOidcSigningKeys',
    summary: "The server's signing keys (public information only), created on first use",
    tag: 'oidc-keys',
    access,
    params: serverParams,
    responses: { 200: { description: 'Current, next and retired keys', schema: signingKeyListSchema } },
    problems: [401, 403, 404],
  },
  rotate: {
    method: 'post',
    path: '/api/v1/servers/{server}/oidc/keys/rotate',
    operationId: 'rotateOidcSigningKeys',
    summary: 'Rotate: the published `next` keys start signing, `current` ones retire, new `next` keys appear',
    description:
      'Running providers pick the new keys up within 30 s; tokens signed by a retired key still verify for 7 days.',
    tag: 'oidc-keys',
    access,
    params: serverParams,
    responses: { 200: { description: 'The keys after the rotation', schema: signingKeyListSchema } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;

export const spParams = serverParams.extend({
  entityId: entityIdSchema.describe("The SP's entityID (URL-encoded)"),
});

export const spRegistrationSchema = z
  .strictObject({
    metadata: z
      .string()
      .max(maxMetadataBytes)
      .optional()
      .describe("The SP's SAML metadata document (one EntityDescriptor with an SPSSODescriptor)"),
    metadataUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .describe(
        'Where the IdP fetches the metadata (through the NEXTAUTH_OUTBOUND_ALLOW guard, at most 256 KiB)',
      ),
    sign: z
      .enum(signModes)
      .default('both')
      .describe('What gets an XML signature: the Assertion, the Response, or both'),
    encrypt: z
      .boolean()
      .default(false)
      .describe("Encrypt Assertions (AES-256-GCM, RSA-OAEP) with the SP's encryption certificate"),
    attributes: z
      .record(attributeNameSchema, claimSchema)
      .default({})
      .describe('SAML attribute name → claim (`sub`, `userid`, `name`, `email`, `groups`, `attr:NAME`)'),
    nameIdFormat: z
      .enum(nameIdFormatNames)
      .optional()
      .describe(
        "The only NameID format this SP gets, overriding its metadata's; a request for another one gets InvalidNameIDPolicy. Absent: the request's format, else the metadata's",
      ),
  })
  .refine((b) => (b.metadata === undefined) !== (b.metadataUrl === undefined), {
    message: 'Give exactly one of metadata and metadataUrl',
  });

export const spUpdateSchema = z
  .strictObject({
    metadata: z
      .string()
      .max(maxMetadataBytes)
      .optional()
      .describe("New metadata of the SP: its entityID must stay the SP's"),
    metadataUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .describe('Where the IdP fetches the new metadata (as for registration)'),
    sign: z.enum(signModes).optional().describe('What gets an XML signature'),
    encrypt: z.boolean().optional().describe('Encrypt Assertions (needs an encryption certificate)'),
    attributes: z
      .record(attributeNameSchema, claimSchema)
      .refine((r) => Object.keys(r).length <= 50, 'at most 50 attributes')
      .optional()
      .describe('The whole attribute mapping, replacing the old one (`{}` sends none)'),
    nameIdFormat: z
      .enum(nameIdFormatNames)
      .nullable()
      .optional()
      .describe('The only NameID format this SP gets; `null` goes back to the request’s or the metadata’s'),
  })
  .refine((b) => b.metadata === undefined || b.metadataUrl === undefined, {
    message: 'Give at most one of metadata and metadataUrl',
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Nothing to change' });

export const samlSpSchema = z.object({
  server: z.string(),
  entityId: z.string(),
  idpEntityId: z.string().describe("This server's IdP entityID (its metadata URL)"),
  acs: z.array(z.string()).describe('HTTP-POST AssertionConsumerService URLs from the metadata'),
  singleLogout: z.array(z.string()),
  authnRequestsSigned: z.boolean().describe('The SP must sign its AuthnRequests'),
  sign: z.enum(signModes),
  encrypt: z.boolean(),
  attributes: z.record(z.string(), z.string()),
  nameIdFormat: z
    .enum(nameIdFormatNames)
    .nullable()
    .describe('The NameID format set for this SP; null: the request’s, else the metadata’s'),
  createdAt: instant,
  updatedAt: instant,
});

export const samlSpListSchema = z.object({ sps: z.array(samlSpSchema) });

export const spOperations = {
  list: {
    method: 'get',
    path: '/api/v1/servers/{server}/saml/sps',
    operationId: 'listSamlSps',
    summary: "The server's SAML service providers by entityID",
    tag: 'saml-sps',
    access,
    params: serverParams,
    responses: { 200: { description: 'The SPs', schema: samlSpListSchema } },
    problems: [401, 403, 404],
  },
  create: {
    method: 'post',
    path: '/api/v1/servers/{server}/saml/sps',
    operationId: 'createSamlSp',
    summary: 'Register an SP from its metadata (inline or by URL)',
    description:
      'The metadata must name at least one HTTP-POST AssertionConsumerService; `encrypt` needs an encryption certificate in it.',
    tag: 'saml-sps',
    access,
    params: serverParams,
    body: spRegistrationSchema,
    responses: { 201: { description: 'The SP', schema: samlSpSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415, 502],
  },
  get: {
    method: 'get',
    path: '/api/v1/servers/{server}/saml/sps/{entityId}',
    operationId: 'getSamlSp',
    summary: 'One SP',
    tag: 'saml-sps',
    access,
    params: spParams,
    responses: { 200: { description: 'The SP', schema: samlSpSchema } },
    problems: [401, 403, 404],
  },
  update: {
    method: 'patch',
    path: '/api/v1/servers/{server}/saml/sps/{entityId}',
    operationId: 'updateSamlSp',
    summary: 'Change an SP in place: new metadata (same entityID) and/or its settings',
    description:
      'Fields left out keep their value; `attributes` replaces the whole mapping. The result is checked like a registration (`encrypt` needs an encryption certificate in the metadata the SP ends up with).',
    tag: 'saml-sps',
    access,
    params: spParams,
    body: spUpdateSchema,
    responses: { 200: { description: 'The SP', schema: samlSpSchema } },
    problems: [400, 401, 403, 404, 413, 415, 502],
  },
  delete: {
    method: 'delete',
    path: '/api/v1/servers/{server}/saml/sps/{entityId}',
    operationId: 'deleteSamlSp',
    summary: 'Remove an SP: its requests are refused from now on',
    tag: 'saml-sps',
    access,
    params: spParams,
    responses: { 204: { description: 'Removed' } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;

export const samlKeySchema = z.object({
  kid: z.string().describe("SHA-256 of the certificate's DER, hex (its fingerprint)"),
  use: z.enum(keyUses),
  state: z
    .enum(['current', 'next', 'retired'])
    .describe(
      '`current` signs (or is the encryption key); `next` is in the metadata already and takes over at the next rotation; `retired` stays in the metadata for the overlap',
    ),
  certificate: z.string().describe('The self-signed certificate, PEM'),
  createdAt: instant,
  activatedAt: instant.nullable(),
  retiredAt: instant.nullable(),
  notAfter: instant.describe("The certificate's end of validity"),
});

export const samlKeyListSchema = z.object({ keys: z.array(samlKeySchema) });

export const samlKeyRotationSchema = z.strictObject({
  use: z
    .enum([...keyUses, 'both'])
    .default('both')
    .describe('Which key pair to rotate: the signing one, the encryption one, or both'),
});

export const samlKeyOperations = {
  list: {
    method: 'get',
    path: '/api/v1/servers/{server}/saml/keys',
    operationId: 'listSamlKeys',
    summary:
      "The SAML IdP's key pairs as its metadata publishes them (certificates only), created on first use",
    tag: 'saml-keys',
    access,
    params: serverParams,
    responses: { 200: { description: 'Current, next and retired keys', schema: samlKeyListSchema } },
    problems: [401, 403, 404],
  },
  rotate: {
    method: 'post',
    path: '/api/v1/servers/{server}/saml/keys/rotate',
    operationId: 'rotateSamlKeys',
    summary: 'Rotate: the published `next` key starts signing, `current` retires, a new `next` appears',
    description:
      'Rotate only after the SPs have re-read the metadata since the `next` key appeared (its `createdAt`): an SP that pins the old certificate stops accepting our signatures. Every instance signs with the new key within 30 s; retired keys stay in the metadata for 14 days.',
    tag: 'saml-keys',
    access,
    params: serverParams,
    body: samlKeyRotationSchema,
    responses: { 200: { description: 'The keys after the rotation', schema: samlKeyListSchema } },
    problems: [400, 401, 403, 404, 415],
  },
} satisfies Record<string, ApiOperation>;

export const idpOpenApiOperation = {
  method: 'get',
  path: '/api/v1/openapi.json',
  operationId: 'getIdpOpenApiDocument',
  summary: 'This OpenAPI 3.1 document',
  tag: 'meta',
  access: { public: true },
  responses: { 200: { description: 'The document', schema: z.looseObject({ openapi: z.string() }) } },
  problems: [],
} satisfies ApiOperation;

export const idpApiOperations: readonly ApiOperation[] = [
  ...Object.values(clientOperations),
  ...Object.values(keyOperations),
  ...Object.values(spOperations),
  ...Object.values(samlKeyOperations),
  idpOpenApiOperation,
];

export const idpApiComponents = {
  OidcClient: oidcClientSchema,
  CreatedOidcClient: createdClientSchema,
  OidcClientPage: clientPageSchema,
  SigningKey: signingKeySchema,
  SigningKeyList: signingKeyListSchema,
  SamlSp: samlSpSchema,
  SamlSpList: samlSpListSchema,
  SamlKey: samlKeySchema,
  SamlKeyList: samlKeyListSchema,
};
