// Delivery of a sealed message to an account's app instance through the MC (mailbox with push, pulled when
// the push is lost): shared by push login and transactions.
import type { AppMessagePayload } from '../../../protocol/mobile/mc-payloads.js';
import { sealMcMessage } from '../../../protocol/mobile/mc-seal.js';
import type { Logger } from '../../common/logging.js';
import type { McPeer } from '../../common/peers.js';
import { PushError } from './errors.js';

/** Seals `payload` for the account's app instance and posts it; PushError when it cannot. */
export type McDelivery = (
  accountId: string,
  id: string,
  expiresAt: number,
  payload: AppMessagePayload,
) => Promise<void>;

export function createMcDelivery(deps: {
  /** Absent when this process reaches no MC: every delivery is `push_unavailable`. */
  mc: McPeer | undefined;
  logger: Logger;
  /** Where the account's messages go: the app-instance key thumbprint it registered (null: none). */
  pushKey: (accountId: string) => Promise<{ thumbprint: string | null }>;
}): McDelivery {
  const { mc, logger } = deps;
  return async (accountId, id, expiresAt, payload) => {
    const { thumbprint } = await deps.pushKey(accountId);
    if (!mc || thumbprint === null) throw new PushError('push_unavailable');
    const recipient = await mc.recipient({ instanceKeyThumbprint: thumbprint });
    if (!recipient) throw new PushError('push_unavailable');
    const sealed = await sealMcMessage({
      recipientKey: recipient.encryptionKey,
      instanceId: recipient.instanceId,
      id,
      expiresAt,
      plaintext: JSON.stringify(payload),
    });
    try {
      await mc.post({ instanceId: recipient.instanceId, sealed });
    } catch (err) {
      logger.warn({ err, accountId, code: (err as { code?: string }).code }, 'mc refused a message');
      throw new PushError('push_failed');
    }
  };
}
