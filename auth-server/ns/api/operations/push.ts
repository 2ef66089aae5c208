// REST v2 push login (nextAuth `provokeLogin`): push the X-nonce session's login to an account's phone.
import { z } from 'zod';
import { useridSchema } from '../../accounts/model.js';
import type { ApiOperation } from '../openapi/operation.js';

export const provokeLoginBody = z
  .strictObject({
    userid: useridSchema.optional().describe("Push to this user's usable accounts (at most 5)"),
    accountid: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .optional()
      .describe('Push to this one account'),
  })
  .refine((b) => (b.userid === undefined) !== (b.accountid === undefined), 'give userid or accountid');

export const provokedLoginSchema = z.object({
  match: z
    .number()
    .int()
    .describe('Show this 2-digit number in the browser: the user types it on the phone to approve'),
  expiresAt: z.iso.datetime(),
  requests: z.array(z.object({ id: z.string(), account: z.string() })),
});

export const pushOperations = {
  provokeLogin: {
    method: 'post',
    path: '/api/v2/session/push',
    operationId: 'provokeLogin',
    summary: "Push the X-nonce session's login to the user's phone (number matching)",
    description:
      'The app receives an end-to-end encrypted message through the MC and continues as after a QR scan; ' +
      'the user types the returned `match` number shown in the browser. Refused with `reason`: ' +
      '`no_account` (404), `push_unavailable` / `push_blocked` / `account_blocked` (409), ' +
      '`push_rate_limited` / `too_many_open_pushes` (429, per account, server policy), ' +
      '`client_push_rate_limited` (429, per API key and user, policy `clientPushesPerMinute`), `push_failed` (503).',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    nonce: true,
    body: provokeLoginBody,
    responses: { 200: { description: 'The push went out', schema: provokedLoginSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415, 429, 503],
  },
} satisfies Record<string, ApiOperation>;
