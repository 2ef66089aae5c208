// NS → IdP: a transaction was answered on the phone (issue #11), on the shared KV bus, once the answer has
// committed. The IdP finishes the OIDC CIBA request made from it (idp/oidc/ciba.ts). A hint only: the IdP
// reads the outcome from NS (`NsPeer.cibaTransactionStatus`), so a forged or stale message decides nothing.
// A bus and not a peer call for the reason of idp-session-ends.ts: NS has no peer pointing at the IdP.
import { z } from 'zod';
import type { Kv, Unsubscribe } from './kv/kv.js';

export const transactionAnswersChannel = 'ns:transaction-answers';

export interface TransactionAnswer {
  server: string;
  tid: string;
}

const answerSchema = z.strictObject({
  server: z.string().min(1).max(63),
  tid: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});

/** A message is a hundred bytes or so; anything far larger on the channel is not ours. */
const maxMessageLength = 1024;

export function publishTransactionAnswer(kv: Pick<Kv, 'publish'>, answer: TransactionAnswer): Promise<void> {
  return kv.publish(transactionAnswersChannel, JSON.stringify(answer));
}

/** Messages that do not parse (damaged, or from a newer instance) are dropped. */
export function parseTransactionAnswer(message: string): TransactionAnswer | undefined {
  if (message.length > maxMessageLength) return undefined;
  try {
    const parsed = answerSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function subscribeTransactionAnswers(
  kv: Pick<Kv, 'subscribe'>,
  handler: (answer: TransactionAnswer) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(transactionAnswersChannel, (message) => {
    const answer = parseTransactionAnswer(message);
    if (answer) handler(answer);
  });
}
