// A transaction to sign (issue #11) as NS stores it, and the status a caller sees.
import type { TransactionSignedData } from '../../../protocol/mobile/transaction.js';

export type TransactionStatus = 'new' | 'approved' | 'declined' | 'expired';

export interface Transaction {
  id: string;
  serverId: string;
  userid: string;
  /** The one account it was created for; null: any active account of the user. */
  accountId: string | null;
  type: string;
  locale: string;
  data: TransactionSignedData;
  template: string;
  /** The RFC 9396 object it was created from; null for the nextAuth REST shape. */
  authorizationDetails: Record<string, unknown> | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** Stored outcome; null while unanswered. */
  outcome: 'approved' | 'declined' | null;
  /** The account that answered. */
  answeredBy: string | null;
  /** The signed receipt (approved only), as stored. */
  receipt: string | null;
}

/**
 * `new` turns into `expired` by time alone; the sweeper writes `expired` into the row later, which reads the
 * same (the stored status is not needed to answer).
 */
export function statusOf(t: Transaction, now: number): TransactionStatus {
  if (t.outcome !== null) return t.outcome;
  return t.expiresAt <= now ? 'expired' : 'new';
}
