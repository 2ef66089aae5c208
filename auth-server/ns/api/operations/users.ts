// REST v2 users of a virtual server: list (filters, search, sort, keyset paging), get, replace (PUT,
// nextAuth registerUser), merge (PATCH) and delete (with the user's accounts).
import { z } from 'zod';
import { serverNameSchema } from '../../servers/model.js';
import { maxUserMarkerLength } from '../../users/marker.js';
import {
  attributeNameSchema,
  groupNameSchema,
  maxGroups,
  maxUserPageSize,
  useridSchema,
  userPatchSchema,
  userProfileSchema,
} from '../../users/model.js';
import type { ApiOperation } from '../openapi/operation.js';
import { pageQueryFields } from './paging.js';

export const userParams = z.strictObject({
  server: serverNameSchema.describe('Virtual server name'),
  userid: useridSchema.describe('The userid (URL-encoded)'),
});

const groupFilterSchema = z
  .string()
  .max(maxGroups * 101)
  .transform((value, ctx) => {
    const names = value.startsWith('in:') ? value.slice(3).split(',') : [value];
    for (const n of names) {
      if (!groupNameSchema.safeParse(n).success) {
        ctx.addIssue({ code: 'custom', message: `not a group name: "${n.slice(0, 40)}"` });
        return z.NEVER;
      }
    }
    return names;
  })
  .describe('`g` (members of g) or `in:a,b` (members of any)');

const attrKey = /^attr\.(.+)$/;

/**
 * Query of the user list. Besides these, `attr.NAME=VALUE` filters by an attribute (or `attr.name`,
 * `attr.email`), exact match, several combined with AND; any other parameter is refused.
 */
export const userListQuerySchema = z
  .looseObject({
    q: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('prefix of userid, name or email (case-insensitive, ASCII)'),
    group: groupFilterSchema.optional(),
    sort: z
      .enum(['userid', '-userid', 'createdAt', '-createdAt'])
      .optional()
      .describe('default userid; a leading - sorts descending'),
    ...pageQueryFields(maxUserPageSize, maxUserMarkerLength),
  })
  .superRefine((query, ctx) => {
    const extra = Object.keys(query).filter((k) => !['q', 'group', 'sort', 'limit', 'marker'].includes(k));
    if (extra.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 attribute filters' });
    for (const key of extra) {
      const name = attrKey.exec(key)?.[1];
      const known = name === 'name' || name === 'email' || attributeNameSchema.safeParse(name).success;
      if (!name || !known) ctx.addIssue({ code: 'custom', path: [key], message: 'unknown parameter' });
      else if (typeof query[key] !== 'string' || (query[key] as string).length > 512)
        ctx.addIssue({ code: 'custom', path: [key], message: 'one value of at most 512 characters' });
    }
  });

/** The attribute filters (`attr.NAME`) of a parsed query. */
export function attributeFilters(query: Record<string, unknown>): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const name = attrKey.exec(key)?.[1];
    if (name && typeof value === 'string') filters[name] = value;
  }
  return filters;
}

export const userSchema = z.object({
  userid: z.string(),
  server: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  attributes: z.record(z.string(), z.string()),
  groups: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const userPageSchema = z.object({
  users: z.array(userSchema),
  next_marker: z.string().nullable().describe('null on the last page'),
});

export const userDeletedSchema = z.object({
  userid: z.string(),
  accountsDeleted: z.number().int().describe('phones (accounts) of this userid that were deleted with it'),
});

const access = { roles: ['users'] } as const;

export const userOperations = {
  list: {
    method: 'get',
    path: '/api/v2/servers/{server}/users',
    operationId: 'listUsers',
    summary: 'Users of a server: filter, search, sort, keyset paging',
    description:
      'Filters: `attr.NAME=VALUE` (exact; also `attr.name`, `attr.email`; several combine with AND), `group`, `q`. Unknown or repeated parameters are refused.',
    tag: 'users',
    access,
    params: userParams.pick({ server: true }),
    query: userListQuerySchema,
    responses: { 200: { description: 'One page of users', schema: userPageSchema } },
    problems: [400, 401, 403, 404],
  },
  get: {
    method: 'get',
    path: '/api/v2/servers/{server}/users/{userid}',
    operationId: 'getUser',
    summary: 'One user',
    tag: 'users',
    access,
    params: userParams,
    responses: { 200: { description: 'The user', schema: userSchema } },
    problems: [401, 403, 404],
  },
  replace: {
    method: 'put',
    path: '/api/v2/servers/{server}/users/{userid}',
    operationId: 'replaceUser',
    summary: 'Create or overwrite a user (registerUser)',
    description: 'Members not given are emptied.',
    tag: 'users',
    access,
    params: userParams,
    body: userProfileSchema,
    responses: {
      200: { description: 'The user after the change', schema: userSchema },
      201: { description: 'The new user', schema: userSchema },
    },
    problems: [400, 401, 403, 404, 413, 415],
  },
  merge: {
    method: 'patch',
    path: '/api/v2/servers/{server}/users/{userid}',
    operationId: 'updateUser',
    summary: 'Merge into a user, creating it when missing',
    description: 'Given members change; an attribute set to null is removed; `groups` replaces the list.',
    tag: 'users',
    access,
    params: userParams,
    body: userPatchSchema,
    responses: {
      200: { description: 'The user after the change', schema: userSchema },
      201: { description: 'The new user', schema: userSchema },
    },
    problems: [400, 401, 403, 404, 413, 415],
  },
  delete: {
    method: 'delete',
    path: '/api/v2/servers/{server}/users/{userid}',
    operationId: 'deleteUser',
    summary: "Delete a user's profile and all its accounts (phones) on the server",
    tag: 'users',
    access,
    params: userParams,
    responses: { 200: { description: 'What was deleted', schema: userDeletedSchema } },
    problems: [401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;
