// Business events on the shared bus: the instance where a change commits publishes, and every instance's
// `/ns/events` sockets hear it (a browser on one instance and a phone on another still make one event).
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import { type BusinessEvent, busEventSchema } from './model.js';

/** One channel for all servers: subscribers filter, and there are few of them (integrators, not browsers). */
export const eventsChannel = 'ns:events';

/** Events are a few hundred bytes; anything far larger on the channel is not ours. */
const maxMessageLength = 4096;

export function publishBusinessEvent(kv: Kv, event: BusinessEvent): Promise<void> {
  return kv.publish(eventsChannel, JSON.stringify(event));
}

/** Messages that do not parse as an event (damaged, or from a newer instance) are dropped. */
export function parseBusinessEvent(message: string): BusinessEvent | undefined {
  if (message.length > maxMessageLength) return undefined;
  try {
    const parsed = busEventSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function subscribeBusinessEvents(
  kv: Kv,
  handler: (event: BusinessEvent) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(eventsChannel, (message) => {
    const event = parseBusinessEvent(message);
    if (event) handler(event);
  });
}
