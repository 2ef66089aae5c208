// An NS user of a virtual server: the integrator's free-form userid with a profile (name, email, groups,
// attributes) that front doors turn into claims, and the zod schemas that guard every write and query.
import { z } from 'zod';
import { useridSchema } from '../accounts/model.js';

export { useridSchema };

/** Names the front doors use for built-in claims; an attribute may not shadow them. */
export const reservedAttributeNames = ['userid', 'name', 'email', 'groups', 'sub'] as const;

export const attributeNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a letter, then letters, digits, ".", "_" or "-"; at most 64')
  .refine((n) => !(reservedAttributeNames as readonly string[]).includes(n), {
    message: `reserved: ${reservedAttributeNames.join(', ')}`,
  });
export const attributeValueSchema = z.string().max(512);

/** Group names appear in comma-separated filters: no commas, no surrounding spaces. */
export const groupNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\s,](?:[^,]*[^\s,])?$/, 'no commas and no leading or trailing spaces');

export const maxAttributes = 50;
export const maxGroups = 100;

const nameSchema = z.string().trim().min(1).max(200);
const emailSchema = z.email().max(254);

const attributesSchema = z
  .record(attributeNameSchema, attributeValueSchema)
  .refine((a) => Object.keys(a).length <= maxAttributes, `at most ${maxAttributes} attributes`);
const groupsSchema = z
  .array(groupNameSchema)
  .max(maxGroups)
  .refine((g) => new Set(g).size === g.length, 'a group is listed twice');

/** A whole profile (`PUT`): what is not given is empty. */
export const userProfileSchema = z.strictObject({
  name: nameSchema.nullable().default(null),
  email: emailSchema.nullable().default(null),
  attributes: attributesSchema.default({}),
  groups: groupsSchema.default([]),
});
export type UserProfile = z.output<typeof userProfileSchema>;
export type UserProfileInput = z.input<typeof userProfileSchema>;

/** A merge (`PATCH`): given members change; an attribute set to null is removed; `groups` replaces. */
export const userPatchSchema = z.strictObject({
  name: nameSchema.nullable().optional(),
  email: emailSchema.nullable().optional(),
  attributes: z
    .record(attributeNameSchema, attributeValueSchema.nullable())
    .refine((a) => Object.keys(a).length <= maxAttributes, `at most ${maxAttributes} attributes`)
    .optional(),
  groups: groupsSchema.optional(),
});
export type UserPatch = z.input<typeof userPatchSchema>;

export interface User extends UserProfile {
  id: string;
  serverId: string;
  userid: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The merged profile: the result is validated as a whole (e.g. the attribute count). */
export function mergeProfile(current: UserProfile, patch: z.output<typeof userPatchSchema>): UserProfile {
  const attributes: Record<string, string> = { ...current.attributes };
  for (const [k, v] of Object.entries(patch.attributes ?? {})) {
    if (v === null) delete attributes[k];
    else attributes[k] = v;
  }
  return userProfileSchema.parse({
    name: patch.name === undefined ? current.name : patch.name,
    email: patch.email === undefined ? current.email : patch.email,
    attributes,
    groups: patch.groups ?? current.groups,
  });
}

export type UserSort = 'userid' | '-userid' | 'createdAt' | '-createdAt';

export interface UserFilter {
  /** Exact matches; `name` and `email` filter the built-in members. */
  attributes?: Record<string, string>;
  /** Users in any of these groups. */
  groups?: string[];
  /** Case-insensitive (ASCII) prefix of userid, name or email. */
  search?: string;
}

export interface UserQuery extends UserFilter {
  sort?: UserSort;
  /** 1–1000, default 100. */
  limit?: number;
  marker?: string;
}

export interface UserPage {
  users: User[];
  /** null on the last page. */
  nextMarker: string | null;
}

export const maxUserPageSize = 1000;
export const defaultUserPageSize = 100;
