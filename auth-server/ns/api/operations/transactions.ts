// REST v2 transaction signing (issue #11): create (nextAuth shape or RFC 9396 `authorization_details`),
// status, receipt, and the server's transaction types with their display templates.
import { z } from 'zod';
import {
  currencySchema,
  decimalAmountSchema,
  localeSchema,
  transactionIdSchema,
  transactionSignedDataSchema,
  transactionTypeSchema,
  transactionValueSchema,
} from '../../../../protocol/mobile/transaction.js';
import { transactionUriDataSchema } from '../../../../protocol/mobile/uris.js';
import { useridSchema } from '../../accounts/model.js';
import { serverNameSchema } from '../../servers/model.js';
import { receiptSchema } from '../../transactions/receipt.js';
import { templatesSchema } from '../../transactions/types.js';
import type { ApiOperation } from '../openapi/operation.js';
import { qrImageFormatSchema } from '../qr-image.js';
import { serverParams } from './servers.js';

const instant = z.iso.datetime();

const target = {
  server: serverNameSchema,
  userid: useridSchema
    .optional()
    .describe("Deliver to the user's usable accounts (at most 5; any one answers)"),
  accountid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/)
    .optional()
    .describe('Deliver to this one account'),
  locale: localeSchema.optional().describe("Template locale (default `en`; the type's nearest one is used)"),
  delivery: z
    .enum(['push', 'qr'])
    .default('push')
    .describe(
      "`push` (default): a message to each of the user's phones; `qr`: none, show the transaction's QR (`…/qr`, `…/qr.png`) for the phone to scan",
    ),
};

/** The nextAuth REST shape: a payment, shown with the built-in `payment` template. */
const paymentBody = z.strictObject({
  ...target,
  amount: decimalAmountSchema.describe('Decimal string, e.g. "12.50" (never a JSON number: no floats)'),
  currency: currencySchema.default('EUR').describe('ISO 4217 code (default EUR)'),
  beneficiary: transactionValueSchema.pipe(z.string().min(1).max(140)),
  description: transactionValueSchema.pipe(z.string().min(1).max(300)),
});

/** RFC 9396 §2: an object with a `type` the server has registered (or `payment`); string leaves only. */
export const authorizationDetailSchema = z
  .looseObject({ type: transactionTypeSchema })
  .refine((o) => JSON.stringify(o).length <= 8192, 'at most 8 KiB');

const rarBody = z.strictObject({
  ...target,
  authorization_details: z
    .union([authorizationDetailSchema, z.array(authorizationDetailSchema).length(1)])
    .describe('One RFC 9396 authorization details object (or an array of one)'),
});

export const createTransactionBody = z
  .union([rarBody, paymentBody])
  .refine((b) => (b.userid === undefined) !== (b.accountid === undefined), 'give userid or accountid');

export const transactionWireSchema = z.object({
  tid: z.string(),
  server: z.string(),
  status: z.enum(['new', 'approved', 'declined', 'expired']),
  type: z.string(),
  locale: z.string(),
  userid: z.string(),
  accountid: z.string().nullable().describe('The account it was created for (null: any of the user)'),
  answeredBy: z.string().nullable().describe('The account that approved or declined it'),
  text: z.string().describe('What the phone shows: the template filled with the values'),
  template: z.object({ id: z.string(), text: z.string(), sha256: z.string() }),
  signedData: transactionSignedDataSchema.describe('The object whose JCS (RFC 8785) the account key signs'),
  authorizationDetails: z.record(z.string(), z.unknown()).nullable(),
  createdAt: instant,
  expiresAt: instant,
  answeredAt: instant.nullable(),
});

export const createdTransactionSchema = transactionWireSchema.extend({
  accounts: z.array(z.string()).describe('The accounts it was delivered to (none with `delivery: "qr"`)'),
  delivery: z.enum(['push', 'qr']),
  qrUri: z.string().optional().describe('With `delivery: "qr"`: nextauth://transaction?d=… to show as a QR'),
});

export const transactionQrSchema = z.object({
  qrData: transactionUriDataSchema,
  qrUri: z.string().describe('Render as the QR code: nextauth://transaction?d=…'),
  expiresAt: instant,
  img: z.string().optional().describe('With `?img=svg|png`: the QR code as a data URL'),
});

export const transactionTypeWireSchema = z.object({
  name: z.string(),
  builtin: z.boolean(),
  templates: z.record(z.string(), z.string()),
});
export const transactionTypeListSchema = z.object({ types: z.array(transactionTypeWireSchema) });

const tidParams = z.strictObject({ tid: transactionIdSchema.describe('Transaction id') });
const typeParams = serverParams.extend({ type: transactionTypeSchema.describe('Transaction type name') });

export const transactionOperations = {
  create: {
    method: 'post',
    path: '/api/v2/transactions',
    operationId: 'createTransaction',
    summary: 'Create a transaction for the user to sign on the phone (what you see is what you sign)',
    description:
      'Either `{amount, currency, beneficiary, description}` (the built-in `payment` type) or one RFC 9396 ' +
      '`authorization_details` object of a registered type, whose string values fill the type template. ' +
      'Delivered to the app through the MC (pulled when the push is lost); expires after the server policy ' +
      '`transactionTimeoutSeconds`. Refused with `reason`: `unknown_type`, `invalid_values` (400), `no_account` ' +
      '(404), `push_unavailable` / `account_blocked` (409), `push_failed` (503). Per account it goes to ' +
      '(every usable account of a `userid`), the server policy allows `transactionsPerMinute` creations and ' +
      '`maxOpenTransactions` unanswered ones: past either, 429 with `Retry-After` and `reason` ' +
      '`transaction_rate_limited` or `too_many_open_transactions`, nothing stored or delivered.',
    tag: 'transactions',
    access: { roles: ['sessions'] },
    body: createTransactionBody,
    responses: { 201: { description: 'Created and delivered', schema: createdTransactionSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415, 429, 503],
  },
  get: {
    method: 'get',
    path: '/api/v2/transactions/{tid}',
    operationId: 'getTransaction',
    summary: 'A transaction with its status: new, approved, declined or expired',
    tag: 'transactions',
    access: { roles: ['sessions'] },
    params: tidParams,
    responses: { 200: { description: 'The transaction', schema: transactionWireSchema } },
    problems: [401, 403, 404],
  },
  receipt: {
    method: 'get',
    path: '/api/v2/transactions/{tid}/receipt',
    operationId: 'getTransactionReceipt',
    summary: 'The signed receipt of an approved transaction (check it offline: `nextauth verify-receipt`)',
    tag: 'transactions',
    access: { roles: ['sessions'] },
    params: tidParams,
    responses: { 200: { description: 'The receipt', schema: receiptSchema } },
    problems: [401, 403, 404, 409],
  },
  qr: {
    method: 'get',
    path: '/api/v2/transactions/{tid}/qr',
    operationId: 'getTransactionQr',
    summary: 'The QR of an open transaction: the phone scans it, then confirms and signs as for a push',
    description:
      'For `delivery: "qr"`, or when a push did not arrive. Only ids are in the QR; only a phone with an ' +
      "account of the transaction's user can fetch what it shows. 409 `transaction_answered` / " +
      '`transaction_expired` once it is no longer open.',
    tag: 'transactions',
    access: { roles: ['sessions'] },
    params: tidParams,
    query: z.strictObject({
      img: qrImageFormatSchema.describe('Add the rendered QR code as a data URL: `svg` or `png`'),
    }),
    responses: { 200: { description: 'QR payload and URI', schema: transactionQrSchema } },
    problems: [400, 401, 403, 404, 409],
  },
  qrPng: {
    method: 'get',
    path: '/api/v2/transactions/{tid}/qr.png',
    operationId: 'getTransactionQrPng',
    summary: 'The QR of an open transaction as a PNG image',
    tag: 'transactions',
    access: { roles: ['sessions'] },
    params: tidParams,
    responses: { 200: { description: 'The QR code', contentType: 'image/png' } },
    problems: [401, 403, 404, 409],
  },
  listTypes: {
    method: 'get',
    path: '/api/v2/servers/{server}/transaction-types',
    operationId: 'listTransactionTypes',
    summary: 'Transaction types of the server (built-in `payment` first) with their templates',
    tag: 'transactions',
    access: { roles: ['servers'] },
    params: serverParams,
    responses: { 200: { description: 'The types', schema: transactionTypeListSchema } },
    problems: [401, 403, 404],
  },
  putType: {
    method: 'put',
    path: '/api/v2/servers/{server}/transaction-types/{type}',
    operationId: 'putTransactionType',
    summary: 'Register (or replace) a transaction type: a display template per locale',
    description:
      'Templates are text with `{name}` placeholders (`{{`/`}}` for braces); a name is a dotted path into the ' +
      'RFC 9396 object, e.g. `{instructedAmount.amount}`. Built-in types cannot be replaced (409).',
    tag: 'transactions',
    access: { roles: ['servers'] },
    params: typeParams,
    body: z.strictObject({ templates: templatesSchema.describe('locale → template text') }),
    responses: { 200: { description: 'The type', schema: transactionTypeWireSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415],
  },
  deleteType: {
    method: 'delete',
    path: '/api/v2/servers/{server}/transaction-types/{type}',
    operationId: 'deleteTransactionType',
    summary: 'Remove a registered transaction type (transactions already created keep their template)',
    tag: 'transactions',
    access: { roles: ['servers'] },
    params: typeParams,
    responses: { 204: { description: 'Deleted' } },
    problems: [401, 403, 404, 409],
  },
} satisfies Record<string, ApiOperation>;
