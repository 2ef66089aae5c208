// REST v2 enrol links: a one-time `nextauth://enrol?d=…` URI that enrols a phone for a userid.
import { z } from 'zod';
import { infoTextSchema } from '../../../../protocol/mobile/common.js';
import { enrolTtlSchema, useridSchema } from '../../accounts/model.js';
import { serverNameSchema } from '../../servers/model.js';
import type { ApiOperation } from '../openapi/operation.js';

export const enrolLinkBody = z.strictObject({
  server: serverNameSchema,
  userid: useridSchema,
  /** Default 600, at most 900 (15 minutes). */
  ttlSeconds: enrolTtlSchema.optional().describe('Default 600, at most 900 (15 minutes)'),
  announceInfo: infoTextSchema
    .optional()
    .describe(
      'nextAuth announceinfo: plain text the app shows when enrolling and keeps with the account (e.g. the full name)',
    ),
});

export const visualHashSchema = z
  .object({
    emoji: z.array(z.string()).length(4),
    words: z.array(z.string()).length(4),
    color: z.string().regex(/^#[0-9a-f]{6}$/),
    text: z.string(),
  })
  .describe(
    'The server key as four pictures and a colour: show it next to the QR; the app shows the same after scanning',
  );

export const enrolLinkSchema = z.object({
  uri: z.string().describe('nextauth://enrol?d=… (show as a QR code)'),
  expiresAt: z.iso.datetime(),
  keyFingerprint: z.string().describe('RFC 7638 thumbprint of the server key the phone pins'),
  visualHash: visualHashSchema,
});

export const enrolOperations = {
  create: {
    method: 'post',
    path: '/api/v2/enrol-links',
    operationId: 'createEnrolLink',
    summary: "Create a one-time enrol link for a user's phone",
    description: 'Rate limit: 120 per API key and client address per minute.',
    tag: 'accounts',
    access: { roles: ['users', 'accounts'] },
    body: enrolLinkBody,
    responses: { 201: { description: 'The enrol link', schema: enrolLinkSchema } },
    problems: [400, 401, 403, 404, 413, 415, 429],
  },
} satisfies Record<string, ApiOperation>;
