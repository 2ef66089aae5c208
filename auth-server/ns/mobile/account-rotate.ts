// `account.rotate` (HEADLESS_UPGRADE): the phone replaces its account key; the old key signs the new one's
// succession on this channel, the new key proves it is held, NS swaps them in one guarded UPDATE.
import { publicKeyFromJwk, thumbprint } from '../../../protocol/keys.js';
import {
  accountRotationSignedData,
  verifyRotationSignature,
} from '../../../protocol/mobile/account-rotation.js';
import { AccountError } from '../accounts/errors.js';
import { type NsMobileHandler, requireAccount } from './handler.js';

export const accountRotate: NsMobileHandler<'account.rotate'> = async (body, ctx, services) => {
  const accountId = requireAccount(ctx);
  const account = await services.accounts.loadAccount(accountId);
  // Another channel of this phone rotated the key meanwhile: the key behind this channel is gone.
  if (account.keyThumbprint !== ctx.keyThumbprint) throw new AccountError('account_unknown');
  const newRaw = publicKeyFromJwk(body.newKey);
  const newThumbprint = await thumbprint(newRaw);
  if (newThumbprint === account.keyThumbprint) throw new AccountError('account_key_exists');
  // Bound to this channel's transcript: a rotation seen elsewhere cannot be replayed here.
  const data = accountRotationSignedData(ctx.transcriptHash, newThumbprint);
  // The old key is the account's key as stored, which (checked above) authenticated this channel.
  const oldOk = await verifyRotationSignature(publicKeyFromJwk(account.publicJwk), body.oldSignature, data);
  const newOk = oldOk && (await verifyRotationSignature(newRaw, body.newSignature, data));
  if (!newOk) throw new AccountError('bad_signature');
  const { kty, crv, x, y } = body.newKey;
  await services.accounts.rotateKey(
    accountId,
    account.keyThumbprint,
    { publicJwk: { kty, crv, x, y }, keyThumbprint: newThumbprint },
    { actor: { kind: 'account', id: accountId }, ...ctx.origin },
  );
  // The channel's authority was the old key: nothing more may run on it.
  ctx.kind = 'deleted';
  ctx.logins.clear();
  return { status: 'rotated' as const, accountId };
};
