// `transaction.get`, `transaction.confirm`, `transaction.decline`: the phone fetches a transaction to sign
// (delivered through the MC), approves it with the account key's signature and an SFS attestation, or declines.
import { type NsMobileHandler, requireAccount, requireTransactions } from './handler.js';

export const transactionGet: NsMobileHandler<'transaction.get'> = async (body, ctx, services) => {
  await ctx.limit('scan');
  return requireTransactions(services).forPhone({
    server: ctx.server,
    accountId: requireAccount(ctx),
    origin: ctx.origin,
    tid: body.tid,
  });
};

export const transactionConfirm: NsMobileHandler<'transaction.confirm'> = async (body, ctx, services) => {
  await requireTransactions(services).approve({
    server: ctx.server,
    accountId: requireAccount(ctx),
    origin: ctx.origin,
    tid: body.tid,
    signature: body.signature,
    attestation: body.attestation,
    transcriptHash: ctx.transcriptHash,
  });
  return { status: 'approved' as const };
};

export const transactionDecline: NsMobileHandler<'transaction.decline'> = async (body, ctx, services) => {
  await requireTransactions(services).decline({
    server: ctx.server,
    accountId: requireAccount(ctx),
    origin: ctx.origin,
    tid: body.tid,
  });
  return { status: 'declined' as const };
};
