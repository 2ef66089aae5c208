// PushError (and the account's block) as problem JSON with a stable `reason`.
import type { Middleware } from 'koa';
import { HttpProblem, type ProblemCode, type ProblemDetails } from '../../common/errors.js';
import { AccountError } from '../accounts/errors.js';
import { PushError, type PushErrorCode } from '../push/errors.js';

export class PushProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: PushErrorCode | 'account_blocked',
    detail: string,
    headers: Record<string, string> = {},
  ) {
    super(status, code, detail, undefined, headers);
  }
  override toJSON(): ProblemDetails & { reason: string } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

const statusOf: Record<PushErrorCode, [number, ProblemCode]> = {
  no_account: [404, 'not_found'],
  unknown_push: [404, 'not_found'],
  push_unavailable: [409, 'conflict'],
  push_blocked: [409, 'conflict'],
  wrong_match: [409, 'conflict'],
  match_required: [409, 'conflict'],
  push_rate_limited: [429, 'rate_limited'],
  client_push_rate_limited: [429, 'rate_limited'],
  too_many_open_pushes: [429, 'rate_limited'],
  push_failed: [503, 'unavailable'],
};

export function mapPushErrors(): Middleware {
  return async (_ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof PushError) {
        const [status, code] = statusOf[err.code];
        const headers: Record<string, string> =
          status === 429 || status === 503 || err.code === 'push_blocked'
            ? { 'Retry-After': String(err.retryAfterSeconds ?? 5) }
            : {};
        throw new PushProblem(status, code, err.code, err.message, headers);
      }
      if (err instanceof AccountError && err.code === 'account_blocked')
        throw new PushProblem(409, 'conflict', 'account_blocked', err.message);
      throw err;
    }
  };
}
