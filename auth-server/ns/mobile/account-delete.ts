// `account.delete`: the phone deletes its own account; the key that authenticated the channel is the proof.
import { MessageError } from '../../../protocol/index.js';
import { type NsMobileHandler, requireAccount } from './handler.js';

export const accountDelete: NsMobileHandler<'account.delete'> = async (_body, ctx, services) => {
  const accountId = requireAccount(ctx);
  const deleted = await services.accountAdmin.delete(
    { id: ctx.server.serverId, name: ctx.server.name },
    accountId,
    { actor: { kind: 'account', id: accountId }, ...ctx.origin },
  );
  // Deleted meanwhile (an admin, another channel of the same key): nothing of it is left to delete.
  if (!deleted) throw new MessageError('unknown_account', 'this account no longer exists');
  // The channel's authority was the account: nothing more may run on it (its login handles included).
  ctx.kind = 'deleted';
  ctx.logins.clear();
  return { status: 'deleted' as const, accountId };
};
