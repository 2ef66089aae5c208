// REST v2 accounts (phones) of a virtual server: list (userid and blocked filters, keyset paging), get,
// block and unblock (idempotent), change userid or description (nextAuth updateAccountUser), delete one,
// delete all of a user's. Role `accounts`.
import { z } from 'zod';
import { maxAccountMarkerLength } from '../../accounts/marker.js';
import {
  accountIdSchema,
  accountPatchSchema,
  maxAccountPageSize,
  useridSchema,
} from '../../accounts/model.js';
import { serverNameSchema } from '../../servers/model.js';
import type { ApiOperation } from '../openapi/operation.js';
import { pageQueryFields } from './paging.js';

const instant = z.iso.datetime();

const serverParam = serverNameSchema.describe('Virtual server name');
export const accountListParams = z.strictObject({ server: serverParam });
export const accountParams = z.strictObject({
  server: serverParam,
  account: accountIdSchema.describe('Account id'),
});
export const userAccountsParams = z.strictObject({
  server: serverParam,
  userid: useridSchema.describe('The userid (URL-encoded)'),
});

/** Query of the account list; any other (or a repeated) parameter is refused. */
export const accountListQuerySchema = z.strictObject({
  userid: useridSchema.optional().describe('only the accounts of this userid (exact)'),
  blocked: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('`true`: only blocked accounts; `false`: only usable ones'),
  ...pageQueryFields(maxAccountPageSize, maxAccountMarkerLength),
});

/** Never the public key itself: its RFC 7638 thumbprint identifies it. */
export const accountSchema = z.object({
  id: z.string(),
  server: z.string(),
  userid: z.string(),
  description: z.string().nullable().describe('what the phone called itself at enrolment, or an admin set'),
  clientVersion: z.string().nullable(),
  createdAt: instant,
  lastLoginAt: instant.nullable(),
  lastPushAt: instant.nullable().describe('last answered push login (null until push login exists)'),
  blockedAt: instant.nullable().describe('null: the account can log in'),
  keyThumbprint: z.string().describe('RFC 7638 thumbprint of the account key'),
});

export const accountPageSchema = z.object({
  accounts: z.array(accountSchema),
  next_marker: z.string().nullable().describe('null on the last page'),
});

export const userAccountsDeletedSchema = z.object({
  userid: z.string(),
  accountsDeleted: z.number().int().describe('how many accounts (phones) were deleted; 0 when none'),
});

const access = { roles: ['accounts'] } as const;
const accountPath = '/api/v2/servers/{server}/accounts/{account}';

export const accountOperations = {
  list: {
    method: 'get',
    path: '/api/v2/servers/{server}/accounts',
    operationId: 'listAccounts',
    summary: 'Accounts (phones) of a server: filter by userid and blocked, keyset paging',
    description: 'In creation order. Unknown or repeated parameters are refused.',
    tag: 'accounts',
    access,
    params: accountListParams,
    query: accountListQuerySchema,
    responses: { 200: { description: 'One page of accounts', schema: accountPageSchema } },
    problems: [400, 401, 403, 404],
  },
  get: {
    method: 'get',
    path: accountPath,
    operationId: 'getAccount',
    summary: 'One account',
    tag: 'accounts',
    access,
    params: accountParams,
    responses: { 200: { description: 'The account', schema: accountSchema } },
    problems: [401, 403, 404],
  },
  update: {
    method: 'patch',
    path: accountPath,
    operationId: 'updateAccount',
    summary: 'Move an account to another userid and/or set its description (updateAccountUser)',
    description: 'Given members change; recorded as `account.updated` when something did.',
    tag: 'accounts',
    access,
    params: accountParams,
    body: accountPatchSchema,
    responses: { 200: { description: 'The account after the change', schema: accountSchema } },
    problems: [400, 401, 403, 404, 413, 415],
  },
  delete: {
    method: 'delete',
    path: accountPath,
    operationId: 'deleteAccount',
    summary: 'Delete an account: that phone can no longer log in',
    tag: 'accounts',
    access,
    params: accountParams,
    responses: { 200: { description: 'The account as it was', schema: accountSchema } },
    problems: [401, 403, 404],
  },
  block: {
    method: 'post',
    path: `${accountPath}/block`,
    operationId: 'blockAccount',
    summary: 'Block an account (idempotent): its logins are refused',
    description: 'Recorded as `account.blocked` only when the account was not blocked yet.',
    tag: 'accounts',
    access,
    params: accountParams,
    responses: { 200: { description: 'The blocked account', schema: accountSchema } },
    problems: [401, 403, 404],
  },
  unblock: {
    method: 'post',
    path: `${accountPath}/unblock`,
    operationId: 'unblockAccount',
    summary: 'Unblock an account (idempotent)',
    description: 'Recorded as `account.unblocked` only when the account was blocked.',
    tag: 'accounts',
    access,
    params: accountParams,
    responses: { 200: { description: 'The usable account', schema: accountSchema } },
    problems: [401, 403, 404],
  },
  deleteOfUser: {
    method: 'delete',
    path: '/api/v2/servers/{server}/users/{userid}/accounts',
    operationId: 'deleteUserAccounts',
    summary: "Delete all of a user's accounts (phones); the user's profile stays",
    description: 'One `account.deleted` per account. 200 with 0 when the user has none.',
    tag: 'accounts',
    access,
    params: userAccountsParams,
    responses: { 200: { description: 'How many were deleted', schema: userAccountsDeletedSchema } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;
