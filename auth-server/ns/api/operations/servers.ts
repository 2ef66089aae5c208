// REST v2 management of virtual servers and their API keys: paths, access and the zod schemas the routes
// validate with (the OpenAPI document is generated from the same objects).
import { z } from 'zod';
import { newApiKeySchema } from '../../apikeys/admin.js';
import { apiRoleSchema } from '../../apikeys/model.js';
import { accentDarkSchema, accentLightSchema, appLinkSchema } from '../../servers/branding.js';
import {
  allowedAppsSchema,
  displayNameSchema,
  logoSchema,
  policyPatchSchema,
  policySchema,
  serverNameSchema,
} from '../../servers/model.js';
import type { ApiOperation } from '../openapi/operation.js';

const instant = z.iso.datetime();

export const serverParams = z.strictObject({ server: serverNameSchema.describe('Virtual server name') });
export const apiKeyIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
export const apiKeyParams = serverParams.extend({ id: apiKeyIdSchema.describe('API key id') });

export const createServerBody = z.strictObject({
  name: serverNameSchema.describe('Lowercase DNS label; appears in URLs (/oidc/{name}) and cookie names'),
  displayName: displayNameSchema,
  logo: logoSchema.nullable().optional(),
  policy: policySchema.optional().describe('Omitted members get their defaults'),
  allowedApps: allowedAppsSchema.optional(),
  accentLight: accentLightSchema.nullable().optional(),
  accentDark: accentDarkSchema.nullable().optional(),
  appLink: appLinkSchema.nullable().optional(),
  recoveryCodes: z
    .boolean()
    .optional()
    .describe('Users may generate one-time recovery codes (default false)'),
});

export const updateServerBody = z.strictObject({
  displayName: displayNameSchema.optional(),
  logo: logoSchema.nullable().optional().describe('null removes the logo'),
  policy: policyPatchSchema.optional().describe('Merged into the current policy, then validated as a whole'),
  allowedApps: allowedAppsSchema.optional().describe('Replaces the whole list'),
  accentLight: accentLightSchema.nullable().optional().describe('null: the page colour'),
  accentDark: accentDarkSchema.nullable().optional().describe('null: the page colour'),
  appLink: appLinkSchema.nullable().optional().describe('null: only the nextauth:// scheme'),
  recoveryCodes: z
    .boolean()
    .optional()
    .describe('Users may generate one-time recovery codes; false keeps stored codes but refuses their use'),
});

const publicJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
});

const storedPolicySchema = z.object({
  pinAttempts: z.number().int(),
  lockoutSeconds: z.number().int(),
  maxLockoutSeconds: z.number().int(),
  blockAfterLockouts: z.number().int(),
  loginTimeoutSeconds: z.number().int(),
  transactionTimeoutSeconds: z.number().int(),
  transactionPinAlways: z.boolean(),
  transactionsPerMinute: z.number().int(),
  maxOpenTransactions: z.number().int(),
  pushesPerMinute: z.number().int(),
  maxOpenPushes: z.number().int(),
  clientPushesPerMinute: z.number().int(),
  notMe: z.enum(['block_push', 'block_account', 'none']),
  notMeBlockSeconds: z.number().int(),
});

export const virtualServerSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  logo: z.string().nullable(),
  policy: storedPolicySchema,
  allowedApps: z.array(
    z.object({
      name: z.string(),
      publisherKey: publicJwkSchema,
      fingerprint: z.string().describe('RFC 7638 thumbprint: the kid of the SDK configurations it signs'),
    }),
  ),
  accentLight: z.string().nullable().describe('#rrggbb accent of light login pages'),
  accentDark: z.string().nullable().describe('#rrggbb accent of dark login pages'),
  appLink: z.string().nullable().describe("The app's https link for app-to-app login"),
  recoveryCodes: z.boolean().describe('Whether users may hold one-time recovery codes'),
  globalId: z.string().describe('{PUBLIC_URL}/ns/{name}: attestation audience and the name at the SFS'),
  createdAt: instant,
  updatedAt: instant,
});

export const serverListSchema = z.object({ servers: z.array(virtualServerSchema) });

export const apiKeySchema = z.object({
  id: z.string(),
  server: z.string(),
  name: z.string(),
  roles: z.array(apiRoleSchema),
  createdAt: instant,
  createdBy: z.string().nullable().describe('Key id of the creator (`root` for the root key)'),
});

export const createdApiKeySchema = apiKeySchema.extend({
  key: z.string().describe('The secret for X-apikey: shown only in this answer, stored only as a hash'),
});

export const apiKeyListSchema = z.object({ apiKeys: z.array(apiKeySchema) });

const keyProblems = [400, 401, 403, 404, 413, 415] as const;

export const serverOperations = {
  list: {
    method: 'get',
    path: '/api/v2/servers',
    operationId: 'listServers',
    summary: 'List virtual servers',
    description: 'Root keys see every server; a server key sees only its own.',
    tag: 'servers',
    access: { roles: ['servers'] },
    responses: { 200: { description: 'Servers by name', schema: serverListSchema } },
    problems: [401, 403],
  },
  create: {
    method: 'post',
    path: '/api/v2/servers',
    operationId: 'createServer',
    summary: 'Create a virtual server',
    description: 'Its PIN policy is registered at the SFS in the same step.',
    tag: 'servers',
    access: { rootKey: true },
    body: createServerBody,
    responses: { 201: { description: 'The new server', schema: virtualServerSchema } },
    problems: [400, 401, 403, 409, 413, 415, 503],
  },
  get: {
    method: 'get',
    path: '/api/v2/servers/{server}',
    operationId: 'getServer',
    summary: 'One virtual server',
    tag: 'servers',
    access: { roles: ['servers'] },
    params: serverParams,
    responses: { 200: { description: 'The server', schema: virtualServerSchema } },
    problems: [401, 403, 404],
  },
  update: {
    method: 'patch',
    path: '/api/v2/servers/{server}',
    operationId: 'updateServer',
    summary: 'Change display name, logo, policy, allowed apps, colours, app link or recovery-code policy',
    description: 'A PIN policy change reaches the SFS in the same step (or nothing changes: 503).',
    tag: 'servers',
    access: { roles: ['servers'] },
    params: serverParams,
    body: updateServerBody,
    responses: { 200: { description: 'The server after the change', schema: virtualServerSchema } },
    problems: [400, 401, 403, 404, 413, 415, 503],
  },
  delete: {
    method: 'delete',
    path: '/api/v2/servers/{server}',
    operationId: 'deleteServer',
    summary: 'Delete a virtual server with its sessions, accounts and API keys',
    description: 'Embedded mode refuses to delete `default` (409): it is re-created at every start.',
    tag: 'servers',
    access: { rootKey: true },
    params: serverParams,
    responses: { 204: { description: 'Deleted' } },
    problems: [401, 403, 404, 409],
  },
  listKeys: {
    method: 'get',
    path: '/api/v2/servers/{server}/apikeys',
    operationId: 'listApiKeys',
    summary: "The server's active API keys (never secrets or hashes)",
    tag: 'apikeys',
    access: { roles: ['servers'] },
    params: serverParams,
    responses: { 200: { description: 'Active keys, oldest first', schema: apiKeyListSchema } },
    problems: [401, 403, 404],
  },
  createKey: {
    method: 'post',
    path: '/api/v2/servers/{server}/apikeys',
    operationId: 'createApiKey',
    summary: 'Create an API key for the server; the secret is returned once',
    description:
      'A key may only hand out roles it holds itself, and only a key with `root` may create one with `root`. At most 100 active keys per server.',
    tag: 'apikeys',
    access: { roles: ['servers'] },
    params: serverParams,
    body: newApiKeySchema,
    responses: { 201: { description: 'The key with its secret', schema: createdApiKeySchema } },
    problems: [...keyProblems, 409],
  },
  revokeKey: {
    method: 'delete',
    path: '/api/v2/servers/{server}/apikeys/{id}',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (it stops working at once)',
    description: 'A key cannot revoke a key that holds a role it lacks.',
    tag: 'apikeys',
    access: { roles: ['servers'] },
    params: apiKeyParams,
    responses: { 204: { description: 'Revoked' } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;
