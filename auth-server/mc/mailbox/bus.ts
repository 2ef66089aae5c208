// New mailbox messages on the shared bus: the MC instance that stores a message publishes it, and the instance
// holding the device's subscription (any of them) pushes it down the channel.
import { type McMessage, mcMessageSchema } from '../../../protocol/mobile/mc.js';
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';

/** One channel per app instance: a subscriber hears only its own mailbox. */
export const mailboxChannel = (instanceId: string) => `mc:mailbox:${instanceId}`;

export function publishMessage(kv: Kv, instanceId: string, message: McMessage): Promise<void> {
  return kv.publish(mailboxChannel(instanceId), JSON.stringify(message));
}

/** Bus messages that do not parse (damaged, or from a newer instance) are dropped: pull still finds them. */
export function subscribeMailbox(
  kv: Kv,
  instanceId: string,
  handler: (message: McMessage) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(mailboxChannel(instanceId), (raw) => {
    if (raw.length > 16 * 1024) return;
    try {
      const parsed = mcMessageSchema.safeParse(JSON.parse(raw));
      if (parsed.success) handler(parsed.data);
    } catch {
      // not ours
    }
  });
}
