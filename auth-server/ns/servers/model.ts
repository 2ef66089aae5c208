// A virtual server (tenant) of the NS and its login policy, with the zod schemas that guard every write.
import { z } from 'zod';

/** Lowercase DNS-label slug: it appears in URLs (`/oidc/{name}`) and cookie names. */
export const serverNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens only');

export const displayNameSchema = z.string().trim().min(1).max(200);

const pinAttempts = z.number().int().min(1).max(100);
const lockoutSeconds = z
  .number()
  .int()
  .min(0)
  .max(86_400 * 30);
const loginTimeoutSeconds = z.number().int().min(10).max(3600);

const policyShape = {
  /** Wrong PINs in a row before the app instance is locked out (enforced by SFS). */
  pinAttempts: pinAttempts.default(5),
  lockoutSeconds: lockoutSeconds.default(300),
  /** How long a started login may wait for the phone. */
  loginTimeoutSeconds: loginTimeoutSeconds.default(120),
};

/** Policy as written by an administrator: unknown keys are typos, so they are rejected. */
export const policySchema = z.strictObject(policyShape);

/** Policy as read back: tolerant of keys a newer version may have stored. */
export const storedPolicySchema = z.object(policyShape);

/** A policy change: no defaults here, or omitted keys would reset stored values. */
export const policyPatchSchema = z.strictObject({
  pinAttempts: pinAttempts.optional(),
  lockoutSeconds: lockoutSeconds.optional(),
  loginTimeoutSeconds: loginTimeoutSeconds.optional(),
});

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const newVirtualServerSchema = z.strictObject({
  name: serverNameSchema,
  displayName: displayNameSchema,
  policy: policySchema.prefault({}),
});

export type NewVirtualServer = z.input<typeof newVirtualServerSchema>;

export const virtualServerPatchSchema = z.strictObject({
  displayName: displayNameSchema.optional(),
  /** Merged into the current policy; the result is validated as a whole. */
  policy: policyPatchSchema.optional(),
});

export type VirtualServerPatch = z.input<typeof virtualServerPatchSchema>;

export interface VirtualServer {
  id: string;
  name: string;
  displayName: string;
  policy: Policy;
  createdAt: Date;
  updatedAt: Date;
}
