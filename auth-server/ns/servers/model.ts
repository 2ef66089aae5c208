// A virtual server (tenant) of the NS, its login policy, logo and trusted apps, with the zod schemas that
// guard every write.
import { createHash, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { accentDarkSchema, accentLightSchema, appLinkSchema } from './branding.js';

/** Lowercase DNS-label slug: it appears in URLs (`/oidc/{name}`) and cookie names. */
export const serverNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and inner hyphens only');

export const displayNameSchema = z.string().trim().min(1).max(200);

const days30 = 86_400 * 30;
const pinAttempts = z.number().int().min(1).max(100);
/** At least 1 s: the SFS refuses a zero lockout (a policy NS cannot hand on would be a silent no-op). */
const lockoutSeconds = z.number().int().min(1).max(days30);
const blockAfterLockouts = z.number().int().min(0).max(100);
const loginTimeoutSeconds = z.number().int().min(10).max(3600);
const transactionTimeoutSeconds = z.number().int().min(30).max(3600);
const pushesPerMinute = z.number().int().min(1).max(60);
const maxOpenPushes = z.number().int().min(1).max(20);
const clientPushesPerMinute = z.number().int().min(1).max(60);
const transactionsPerMinute = z.number().int().min(1).max(60);
const maxOpenTransactions = z.number().int().min(1).max(20);
export const notMePolicies = ['block_push', 'block_account', 'none'] as const;
const notMePolicy = z.enum(notMePolicies);
const notMeBlockSeconds = z.number().int().min(60).max(days30);

const policyShape = {
  /** Wrong PINs in a row before the app instance is locked out (enforced by SFS). */
  pinAttempts: pinAttempts.default(5).describe('Wrong PINs in a row before a lockout (enforced by the SFS).'),
  lockoutSeconds: lockoutSeconds
    .default(300)
    .describe('First lockout; each further lockout without a right PIN in between doubles it.'),
  maxLockoutSeconds: lockoutSeconds.default(86_400).describe('Ceiling of the doubled lockout.'),
  blockAfterLockouts: blockAfterLockouts
    .default(5)
    .describe('The lockout number that blocks the PIN for good instead (0: never).'),
  /** How long a started login may wait for the phone. */
  loginTimeoutSeconds: loginTimeoutSeconds
    .default(120)
    .describe('How long a started login waits for the phone (and its PIN).'),
  transactionTimeoutSeconds: transactionTimeoutSeconds
    .default(300)
    .describe('How long a transaction to sign waits for the phone (and its PIN).'),
  transactionPinAlways: z
    .boolean()
    .default(false)
    .describe('Transactions are approved with the PIN only, never with biometrics alone.'),
  transactionsPerMinute: transactionsPerMinute
    .default(10)
    .describe(
      'Transactions created for one account per minute (a transaction to a userid counts for each account it goes to); more get 429.',
    ),
  maxOpenTransactions: maxOpenTransactions
    .default(5)
    .describe('Transactions one account may have open (unanswered, unexpired) at once; more get 429.'),
  pushesPerMinute: pushesPerMinute
    .default(5)
    .describe('Push logins sent to one account per minute (push bombing); more get 429.'),
  maxOpenPushes: maxOpenPushes
    .default(3)
    .describe('Push logins one account may have open (unanswered, unexpired) at once; more get 429.'),
  clientPushesPerMinute: clientPushesPerMinute
    .default(3)
    .describe(
      'Push logins one API key (integrator) may provoke per user and minute, below pushesPerMinute so one key cannot use up what the user gets; more get 429.',
    ),
  notMe: notMePolicy
    .default('block_push')
    .describe(
      'What a "not me" answer does besides cancelling the login: `block_push` stops pushes to that account for notMeBlockSeconds, `block_account` blocks the account, `none` only records it.',
    ),
  notMeBlockSeconds: notMeBlockSeconds
    .default(3600)
    .describe('How long `block_push` stops pushes to the account.'),
};

const ceilingAboveFirst = (p: { lockoutSeconds?: number; maxLockoutSeconds?: number }) =>
  p.lockoutSeconds === undefined ||
  p.maxLockoutSeconds === undefined ||
  p.maxLockoutSeconds >= p.lockoutSeconds;
const ceilingIssue = { message: 'must not be below lockoutSeconds', path: ['maxLockoutSeconds'] };

/** Policy as written by an administrator: unknown keys are typos, so they are rejected. */
export const policySchema = z.strictObject(policyShape).refine(ceilingAboveFirst, ceilingIssue);

/**
 * Policy as read back: tolerant of keys a newer version may have stored, and of a zero lockout written
 * before the SFS limits applied here; missing keys (rows from before they existed) get the defaults.
 */
export const storedPolicySchema = z.object({
  ...policyShape,
  lockoutSeconds: z.number().int().min(0).max(days30).default(300),
});

/** A policy change: no defaults here, or omitted keys would reset stored values. */
export const policyPatchSchema = z.strictObject({
  pinAttempts: pinAttempts.optional(),
  lockoutSeconds: lockoutSeconds.optional(),
  maxLockoutSeconds: lockoutSeconds.optional(),
  blockAfterLockouts: blockAfterLockouts.optional(),
  loginTimeoutSeconds: loginTimeoutSeconds.optional(),
  transactionTimeoutSeconds: transactionTimeoutSeconds.optional(),
  transactionPinAlways: z.boolean().optional(),
  transactionsPerMinute: transactionsPerMinute.optional(),
  maxOpenTransactions: maxOpenTransactions.optional(),
  pushesPerMinute: pushesPerMinute.optional(),
  maxOpenPushes: maxOpenPushes.optional(),
  clientPushesPerMinute: clientPushesPerMinute.optional(),
  notMe: notMePolicy.optional(),
  notMeBlockSeconds: notMeBlockSeconds.optional(),
});

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** Logos are shown on the phone and the login page: an https URL, or a small inline raster image. */
export const maxLogoUrlLength = 2048;
export const maxLogoImageBytes = 24 * 1024;
/** A data: URL of at most maxLogoImageBytes, base64 (4/3) plus its prefix. */
export const maxLogoLength = 33_000;

const imageSignatures: Record<string, (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => b.subarray(0, 4).toString('latin1') === 'GIF8',
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
};

/** Why a logo is refused, or undefined when it is fine. SVG is refused: it can carry script. */
export function logoProblem(value: string): string | undefined {
  if (value.startsWith('data:')) {
    const match = /^data:(image\/[a-z+.-]+);base64,([A-Za-z0-9+/]+={0,2})$/.exec(value);
    if (!match) return 'a data: logo must be base64 (data:image/png;base64,…)';
    const [, type = '', data = ''] = match;
    const matches = imageSignatures[type];
    if (!matches) return 'a data: logo must be image/png, image/jpeg, image/gif or image/webp';
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > maxLogoImageBytes) return `a data: logo may hold at most ${maxLogoImageBytes} bytes`;
    if (!matches(bytes)) return `the data is not a ${type} image`;
    return undefined;
  }
  if (value.length > maxLogoUrlLength) return `a logo URL may be at most ${maxLogoUrlLength} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an https URL or a data: image';
  }
  if (url.protocol !== 'https:') return 'a logo URL must be https';
  if (url.username !== '' || url.password !== '') return 'a logo URL must not carry credentials';
  return undefined;
}

export const logoSchema = z
  .string()
  .max(maxLogoLength)
  .superRefine((value, ctx) => {
    const problem = logoProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    `An https URL, or a data: URL of a PNG, JPEG, GIF or WebP image of at most ${maxLogoImageBytes} bytes.`,
  );

const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url P-256 coordinate');

function onCurve(jwk: { kty: string; crv: string; x: string; y: string }): boolean {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A publisher's P-256 public key as JWK. Members such as `kid`, `alg` or `use` are accepted and dropped; a
 * private member (`d`) is refused, not stripped: whoever sent it has leaked the key.
 */
export const publisherKeySchema = z
  .looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: coordinate, y: coordinate })
  .refine((jwk) => !('d' in jwk), { message: 'a private key must not be sent', path: ['d'] })
  .transform(({ kty, crv, x, y }) => ({ kty, crv, x, y }))
  .refine(onCurve, { message: 'not a point on P-256', path: ['x'] });

export type PublisherKey = z.output<typeof publisherKeySchema>;

/** RFC 7638 §3 thumbprint of a P-256 JWK: the `kid` of the SDK configurations that key signs. */
export function publisherFingerprint(jwk: PublisherKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

export const maxAllowedApps = 16;

/** A trusted app, named by the key that signs its SDK configuration (DESIGN.md §1: each NS decides). */
export const allowedAppSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).describe('A label for operators, e.g. the app and its publisher.'),
  publisherKey: publisherKeySchema,
});

export type AllowedApp = z.output<typeof allowedAppSchema>;

export const allowedAppsSchema = z
  .array(allowedAppSchema)
  .max(maxAllowedApps)
  .refine(
    (apps) => new Set(apps.map((a) => publisherFingerprint(a.publisherKey))).size === apps.length,
    'the same publisher key is listed twice',
  )
  .describe('Trusted SDK-configuration publisher keys; empty: any app of the SFS this NS uses.');

/** As read back: the same rules (a row that breaks them is corrupt, and reading it fails loudly). */
export const storedAllowedAppsSchema = allowedAppsSchema;

export const newVirtualServerSchema = z.strictObject({
  name: serverNameSchema,
  displayName: displayNameSchema,
  logo: logoSchema.nullable().default(null),
  policy: policySchema.prefault({}),
  allowedApps: allowedAppsSchema.default([]),
  accentLight: accentLightSchema.nullable().default(null),
  accentDark: accentDarkSchema.nullable().default(null),
  appLink: appLinkSchema.nullable().default(null),
  recoveryCodes: z.boolean().default(false),
});

export type NewVirtualServer = z.input<typeof newVirtualServerSchema>;

export const virtualServerPatchSchema = z.strictObject({
  displayName: displayNameSchema.optional(),
  /** null removes the logo. */
  logo: logoSchema.nullable().optional(),
  /** Merged into the current policy; the result is validated as a whole. */
  policy: policyPatchSchema.optional(),
  /** Replaces the whole list. */
  allowedApps: allowedAppsSchema.optional(),
  /** null: back to the page's own colour. */
  accentLight: accentLightSchema.nullable().optional(),
  accentDark: accentDarkSchema.nullable().optional(),
  /** null: the `nextauth://` scheme only. */
  appLink: appLinkSchema.nullable().optional(),
  recoveryCodes: z.boolean().optional(),
});

export type VirtualServerPatch = z.input<typeof virtualServerPatchSchema>;

export interface VirtualServer {
  id: string;
  name: string;
  displayName: string;
  logo: string | null;
  policy: Policy;
  allowedApps: AllowedApp[];
  /** Accent of light / dark login pages (`#rrggbb`), null for the page's own. */
  accentLight: string | null;
  accentDark: string | null;
  /** The app's https link for app-to-app login, or null. */
  appLink: string | null;
  /** Whether users of this server may hold one-time recovery codes. */
  recoveryCodes: boolean;
  createdAt: Date;
  updatedAt: Date;
}
