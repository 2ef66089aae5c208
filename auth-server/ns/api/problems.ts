// Maps domain errors of the NS layers to problem JSON, adding a stable `reason` for clients to branch on.
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { ConflictError, NotFoundError } from '../../common/db/errors.js';
import { HttpProblem, type ProblemCode, type ProblemDetails } from '../../common/errors.js';
import { InvalidMarkerError } from '../../common/paging/marker.js';
import { AccessDeniedError, type AccessDeniedReason } from '../apikeys/roles.js';
import { SessionError, type SessionErrorCode } from '../sessions/errors.js';

/** A problem whose body also carries the session error code (`reason`), e.g. `code_expired`. */
export class SessionProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: SessionErrorCode,
    detail: string,
  ) {
    super(status, code, detail);
  }
  override toJSON(): ProblemDetails & { reason: SessionErrorCode } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

const statusOf: Record<SessionErrorCode, [number, ProblemCode]> = {
  unknown_session: [404, 'not_found'],
  unknown_code: [404, 'not_found'],
  session_expired: [409, 'conflict'],
  invalid_state: [409, 'conflict'],
  code_expired: [409, 'conflict'],
  code_used: [409, 'conflict'],
};

/** 403 with the authorization `reason` (`missing_role`, `root_only`, `role_escalation`). */
export class AccessProblem extends HttpProblem {
  constructor(
    readonly reason: AccessDeniedReason,
    detail: string,
  ) {
    super(403, 'forbidden', detail);
  }
  override toJSON(): ProblemDetails & { reason: AccessDeniedReason } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/** A server the key may not act on reads as unknown: keys do not learn other tenants' names. */
export function accessProblem(err: AccessDeniedError): HttpProblem {
  if (err.reason === 'wrong_server') return new HttpProblem(404, 'not_found', 'No such virtual server');
  return new AccessProblem(err.reason, err.message);
}

export function sessionProblem(err: SessionError): SessionProblem {
  const [status, code] = statusOf[err.code];
  return new SessionProblem(status, code, err.code, err.message);
}

/**
 * Turns SessionError, AccessDeniedError, NotFoundError, ConflictError, InvalidMarkerError (paging) and
 * ZodError from service calls into problems; others pass.
 */
export function mapDomainErrors(): Middleware {
  return async (_ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof SessionError) throw sessionProblem(err);
      if (err instanceof AccessDeniedError) throw accessProblem(err);
      if (err instanceof ConflictError)
        throw new HttpProblem(409, 'conflict', `That ${err.entity} exists already`);
      if (err instanceof NotFoundError) throw new HttpProblem(404, 'not_found', `No such ${err.entity}`);
      if (err instanceof InvalidMarkerError)
        throw new HttpProblem(400, 'bad_request', err.message, [{ path: 'marker', message: err.message }]);
      if (err instanceof ZodError) {
        throw new HttpProblem(
          400,
          'bad_request',
          'Invalid input',
          err.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
        );
      }
      throw err;
    }
  };
}
