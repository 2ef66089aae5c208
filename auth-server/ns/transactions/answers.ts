// The transaction service whose answers (approve, decline) are also told on the KV bus after they commit
// (auth-server/common/transaction-answers.ts), for the IdP's CIBA requests. Best effort like the session
// ends: the answer stands, and a lost message leaves the CIBA request to its expiry (logged).
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import { publishTransactionAnswer } from '../../common/transaction-answers.js';
import type { TransactionService } from './service.js';

export function announceAnswers(
  service: TransactionService,
  deps: { kv: Pick<Kv, 'publish'>; logger: Logger },
): TransactionService {
  const announce = async (server: string, tid: string): Promise<void> => {
    try {
      await publishTransactionAnswer(deps.kv, { server, tid });
    } catch (err) {
      deps.logger.warn({ err, server, transaction: tid }, 'transaction answer not published');
    }
  };
  return {
    ...service,
    async approve(party) {
      await service.approve(party);
      await announce(party.server.name, party.tid);
    },
    async decline(party) {
      await service.decline(party);
      await announce(party.server.name, party.tid);
    },
  };
}
