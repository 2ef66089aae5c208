// `login.confirm`: approves a scanned login with an SFS attestation bound to this channel and account.
import { type NsMobileHandler, requireAccount, sessionOfHandle } from './handler.js';

export const loginConfirm: NsMobileHandler<'login.confirm'> = async (body, ctx, services) => {
  const scanned = sessionOfHandle(ctx, body.login);
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
  return { status: 'loggedin' as const };
};
