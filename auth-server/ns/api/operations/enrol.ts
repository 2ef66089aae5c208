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
  page: z
    .boolean()
    .optional()
    .describe(
      'Also return the URL of an enrol page (QR, server key pictures, progress) for the user: one browser, ends with the link',
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
  page: z
    .object({
      url: z
        .string()
        .describe(
          '{PUBLIC_URL}/enrol/{server}#t=<view token>: send the user there, or give the token to the enrol block',
        ),
      viewToken: z.string().describe('The view token alone (the fragment of `url`), for the enrol block'),
      expiresAt: z.iso.datetime(),
    })
    .optional()
    .describe('Only with `page: true`. The first browser that opens it keeps it; others are refused'),
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
