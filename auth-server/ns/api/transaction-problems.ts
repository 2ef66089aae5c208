// TransactionError as problem JSON with a stable `reason` (PushError and a blocked account as for pushes).
import type { Middleware } from 'koa';
import { HttpProblem, type ProblemCode, type ProblemDetails } from '../../common/errors.js';
import { TransactionError, type TransactionErrorCode } from '../transactions/errors.js';

export class TransactionProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: TransactionErrorCode,
    detail: string,
    headers: Record<string, string> = {},
  ) {
    super(status, code, detail, undefined, headers);
  }
  override toJSON(): ProblemDetails & { reason: string } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

const statusOf: Record<TransactionErrorCode, [number, ProblemCode]> = {
  unknown_transaction: [404, 'not_found'],
  unknown_type: [400, 'bad_request'],
  invalid_values: [400, 'bad_request'],
  builtin_type: [409, 'conflict'],
  no_receipt: [409, 'conflict'],
  transaction_answered: [409, 'conflict'],
  transaction_expired: [409, 'conflict'],
  signature_invalid: [400, 'bad_request'],
  pin_required: [403, 'forbidden'],
  transaction_rate_limited: [429, 'rate_limited'],
  too_many_open_transactions: [429, 'rate_limited'],
};

export function mapTransactionErrors(): Middleware {
  return async (_ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof TransactionError) {
        const [status, code] = statusOf[err.code];
        const headers: Record<string, string> =
          status === 429 ? { 'Retry-After': String(err.retryAfterSeconds ?? 5) } : {};
        throw new TransactionProblem(status, code, err.code, err.message, headers);
      }
      throw err;
    }
  };
}
