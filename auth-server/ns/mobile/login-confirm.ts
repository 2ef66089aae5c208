// `login.confirm`: approves a scanned login with an SFS attestation bound to this channel and account.
import { MessageError } from '../../../protocol/index.js';
import { type NsMobileHandler, requireAccount, sessionOfHandle } from './handler.js';
import { provenPushKey } from './push-key.js';

export const loginConfirm: NsMobileHandler<'login.confirm'> = async (body, ctx, services) => {
  const scanned = sessionOfHandle(ctx, body.login);
  if (ctx.unmatched.has(body.login))
    throw new MessageError('match_required', 'type the number shown in the browser');
  const pushKey = await provenPushKey(body, ctx.transcriptHash);
  await services.logins.confirm({
    server: ctx.server,
    accountId: requireAccount(ctx),
    sessionId: scanned.id,
    scanned,
    attestation: body.attestation,
    transcriptHash: ctx.transcriptHash,
    origin: ctx.origin,
  });
  ctx.logins.delete(body.login);
  if (pushKey !== undefined) await services.push.setPushKey(requireAccount(ctx), pushKey);
  return { status: 'loggedin' as const };
};
