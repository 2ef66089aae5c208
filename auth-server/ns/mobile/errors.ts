// Domain errors → MessageError codes of the NS channel; anything unexpected is logged and answered `internal`.
import { ZodError } from 'zod';
import { MessageError } from '../../../protocol/index.js';
import { AttestationError } from '../../common/attestation/format.js';
import type { Logger } from '../../common/logging.js';
import { AccountError } from '../accounts/errors.js';
import { PushError } from '../push/errors.js';
import { SessionError } from '../sessions/errors.js';
import { TransactionError } from '../transactions/errors.js';

/**
 * Codes keep the domain's names (`code_expired`, `enrol_token_used`, `attestation_replayed`, …), which
 * docs/api.md lists; the phone branches on them. `unknown_session` cannot reach a phone that only holds
 * handles, but keeps its name if it does.
 */
export function toMessageError(err: unknown, logger: Logger, type: string): MessageError {
  if (err instanceof MessageError) return err;
  if (
    err instanceof SessionError ||
    err instanceof AccountError ||
    err instanceof AttestationError ||
    err instanceof PushError ||
    err instanceof TransactionError
  )
    return new MessageError(err.code, err.message);
  if (err instanceof ZodError) return new MessageError('bad_request', err.issues[0]?.message);
  logger.error({ err, type }, 'ns channel request failed');
  return new MessageError('internal');
}
