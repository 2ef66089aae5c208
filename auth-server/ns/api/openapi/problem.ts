// The problem JSON body (RFC 9457) every NS error answer carries, as a schema for the OpenAPI document.
import { z } from 'zod';
import type { ProblemCode } from '../../../common/errors.js';

const problemCodes = [
  'bad_request',
  'invalid_body',
  'body_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'rate_limited',
  'unavailable',
  'internal',
] as const satisfies readonly ProblemCode[];

export const problemSchema = z
  .object({
    type: z.string().describe('URI naming the problem kind'),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(problemCodes).describe('Stable code to branch on'),
    detail: z.string().optional(),
    reason: z
      .string()
      .optional()
      .describe(
        'Finer cause: session errors (`unknown_session`, `session_expired`, `invalid_state`, …) and authorization (`missing_role`, `root_only`, `role_escalation`)',
      ),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Field-level problems of an invalid body or query'),
  })
  .describe('RFC 9457 problem details');

export const problemDescriptions: Record<number, string> = {
  400: 'Invalid input (`invalid_body` lists the fields in `errors`; `bad_request` for a malformed body or query)',
  401: 'Missing or invalid credentials (`X-apikey`, `X-nonce`, `X-su`)',
  403: 'The API key lacks the role (`reason`: `missing_role`, `root_only`, `role_escalation`)',
  404: 'No such resource, or one the key may not see',
  409: 'Conflict with the current state',
  413: 'Request body over the cap',
  415: 'The body is not `application/json`',
  429: 'Rate limited; `Retry-After` says when to try again',
  503: 'A service this operation depends on is unavailable; nothing was changed',
};
