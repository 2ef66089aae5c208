// An NS virtual server as registered at this SFS, with the PIN lockout policy SFS enforces for it.
import { z } from 'zod';

/** The NS server id as NS names it (the attestation `aud`): printable ASCII, no spaces. */
export const sfsServerIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][\x21-\x7e]{0,199}$/,
    'printable ASCII without spaces, starting with a letter or digit',
  );

const attempts = z.number().int().min(1).max(100);
const seconds = z
  .number()
  .int()
  .min(1)
  .max(86_400 * 30);
const blockAfter = z.number().int().min(0).max(100);

const policyShape = {
  /** Wrong PINs in a row before a lockout. */
  maxAttempts: attempts.default(5),
  /** First lockout; each further lockout without a right PIN in between doubles it. */
  lockoutSeconds: seconds.default(300),
  /** Ceiling of the doubled lockout. */
  maxLockoutSeconds: seconds.default(86_400),
  /** The lockout number that blocks the PIN for good instead (0: never). */
  blockAfterLockouts: blockAfter.default(5),
  /**
   * `false`: attestations with `method: 'bio'` are refused for this server (PIN only). Absent means allowed,
   * so policies stored before biometrics existed read unchanged.
   */
  bioAllowed: z.boolean().optional(),
};

const ceilingAboveFirst = (p: { lockoutSeconds: number; maxLockoutSeconds: number }) =>
  p.maxLockoutSeconds >= p.lockoutSeconds;
const ceilingIssue = { message: 'must not be below lockoutSeconds', path: ['maxLockoutSeconds'] };

/** As written by an administrator: unknown keys are typos and are refused. */
export const sfsPolicySchema = z.strictObject(policyShape).refine(ceilingAboveFirst, ceilingIssue);
/** As read back: tolerant of keys a newer version may have stored. */
export const storedSfsPolicySchema = z.object(policyShape);

export type SfsPolicy = z.output<typeof sfsPolicySchema>;
export type SfsPolicyInput = z.input<typeof sfsPolicySchema>;

export const newSfsServerSchema = z.strictObject({
  id: sfsServerIdSchema,
  policy: sfsPolicySchema.prefault({}),
  /** The NS server's P-256 public JWK, when known (validated separately, see ../jwk.ts). */
  publicJwk: z.unknown().optional(),
});

export type NewSfsServer = z.input<typeof newSfsServerSchema>;

export interface SfsServer {
  id: string;
  policy: SfsPolicy;
  publicJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string } | null;
  keyThumbprint: string | null;
  createdAt: Date;
  updatedAt: Date;
}
