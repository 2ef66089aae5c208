// The problems a login page's `complete` answers with (OIDC interaction and front-door login alike): 409
// with a `reason` the page branches on (start a fresh login, keep waiting, or give up).
import { HttpProblem, type ProblemCode, type ProblemDetails } from '../../auth-server/common/errors.js';
import type { NsLoginRefusal } from './ns-login.js';

export type LoginProblemReason = NsLoginRefusal | 'interaction_expired' | 'login_declined';

export class InteractionProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: LoginProblemReason,
    detail: string,
  ) {
    super(status, code, detail);
  }
  override toJSON(): ProblemDetails & { reason: string } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

export const refusalText: Record<NsLoginRefusal, string> = {
  no_login_session: 'This browser has no login session for this server',
  login_pending: 'The phone has not approved this login yet',
  login_stale: 'This login was approved before the authorization request began',
  login_used: 'This login has already been used',
};

/** The 409 of a refused NS login. */
export function refusedProblem(reason: NsLoginRefusal): InteractionProblem {
  return new InteractionProblem(409, 'conflict', reason, refusalText[reason]);
}
