// REST v2 session operations (after nextAuth REST v2.2): createSession, getSession, logout, QR data.
import { z } from 'zod';
import { infoTextSchema } from '../../../../protocol/mobile/common.js';
import { loginUriDataSchema } from '../../../../protocol/mobile/uris.js';
import { serverNameSchema } from '../../servers/model.js';
import { declineReasonSchema, sessionStateSchema } from '../../sessions/model.js';
import type { ApiOperation } from '../openapi/operation.js';
import { qrImageFormatSchema } from '../qr-image.js';

const instant = z.iso.datetime();

export const createSessionBody = z.strictObject({
  server: serverNameSchema,
  /** The end user's browser, as the integrator's backend saw it (shown on the phone). */
  userAgent: z.string().max(4096).optional().describe("The end user's browser (shown on the phone)"),
  ip: z.union([z.ipv4(), z.ipv6()]).optional().describe("The end user's address; default: the caller's"),
  sessionInfo: infoTextSchema
    .optional()
    .describe('nextAuth sessioninfo: plain text the app shows with this login (e.g. "Sign in to Payroll")'),
});

export const createdSessionSchema = z.object({
  nonce: z.string().describe('The session credential: returned only here, stored only as a hash'),
  server: z.string(),
  state: sessionStateSchema,
  expiresAt: instant,
});

/** nextAuth `LoginStatus`, plus our state and expiry (sessions/model.ts `toLoginStatus`). */
export const loginStatusSchema = z.object({
  loggedin: z.boolean(),
  state: sessionStateSchema,
  server: z.string(),
  expiresAt: instant,
  userid: z.string().optional().describe('Only while loggedin'),
  accountid: z.string().optional().describe('Only while loggedin'),
  hsid: z.string().optional().describe('Random handle of this login; only while loggedin'),
  declineReason: declineReasonSchema
    .optional()
    .describe('Only while declined: `not_me` when the phone reported a login its user did not start'),
});

export const loginQrSchema = z.object({
  qrData: loginUriDataSchema,
  qrUri: z.string().describe('Render as the QR code: nextauth://login?d=…'),
  expiresAt: instant,
  refreshAt: instant.describe('Fetch again at this time: the login code rotates'),
  img: z.string().optional().describe('With `?img=svg|png`: the QR code as a data URL'),
});

export const loginQrQuerySchema = z.strictObject({
  img: qrImageFormatSchema.describe('Add the rendered QR code as a data URL: `svg` or `png`'),
});

const nonceProblems = [401, 403, 404] as const;

export const sessionOperations = {
  create: {
    method: 'post',
    path: '/api/v2/session',
    operationId: 'createSession',
    summary: 'Create a login session (nonce)',
    description: 'Rate limit: 600 per API key and client address per minute.',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    body: createSessionBody,
    responses: { 201: { description: 'The new session and its nonce', schema: createdSessionSchema } },
    problems: [400, 401, 403, 404, 413, 415, 429],
  },
  get: {
    method: 'get',
    path: '/api/v2/session',
    operationId: 'getSession',
    summary: 'The LoginStatus of the X-nonce session',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    nonce: true,
    responses: { 200: { description: 'LoginStatus', schema: loginStatusSchema } },
    problems: nonceProblems,
  },
  logout: {
    method: 'post',
    path: '/api/v2/logout',
    operationId: 'logout',
    summary: 'End the X-nonce session (loggedout)',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    nonce: true,
    responses: { 200: { description: 'LoginStatus after logout', schema: loginStatusSchema } },
    problems: nonceProblems,
  },
  qr: {
    method: 'get',
    path: '/api/v2/qr',
    operationId: 'getQrLogin',
    summary: 'Login QR data of the X-nonce session',
    description: 'The login code rotates every 30 s; fetch again at `refreshAt`.',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    nonce: true,
    query: loginQrQuerySchema,
    responses: { 200: { description: 'QR payload and URI', schema: loginQrSchema } },
    problems: [...nonceProblems, 400, 409],
  },
  qrPng: {
    method: 'get',
    path: '/api/v2/qr.png',
    operationId: 'getQrLoginPng',
    summary: 'Login QR code of the X-nonce session as a PNG image',
    description:
      'For integrators that serve the image themselves. `X-Refresh-At` says when the code rotates; fetch again then.',
    tag: 'sessions',
    access: { roles: ['sessions'] },
    nonce: true,
    responses: { 200: { description: 'The QR code', contentType: 'image/png' } },
    problems: [...nonceProblems, 409],
  },
} satisfies Record<string, ApiOperation>;
