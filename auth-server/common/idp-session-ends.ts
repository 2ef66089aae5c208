// NS → IdP: the NS-side events that end IdP sessions (DESIGN.md §4), on the shared KV bus. NS publishes
// once the change has committed; every IdP instance hears it and ends the matching sessions, and the
// session's atomic end makes exactly one of them run the end handlers (OIDC back-channel logout, SAML).
// A bus and not a peer call: NS has no IdP peer to call (the peers point from the IdP to NS), and with
// several IdP instances any one of them may hold the work.
import { z } from 'zod';
import type { Kv, Unsubscribe } from './kv/kv.js';

export const idpSessionEndsChannel = 'ns:idp-session-ends';

export type NsSessionEnd =
  /** The browser's NS login session was logged out at NS (its REST API, the login page, the phone). */
  | { cause: 'ns_logout'; server: string; nsSession: string }
  /** An account (a phone) was deleted or blocked at NS: every IdP session made from its logins ends. */
  | { cause: 'account_removed' | 'account_blocked'; server: string; account: string };

const id = z.string().min(1).max(255);
const server = z.string().min(1).max(63);

export const nsSessionEndSchema: z.ZodType<NsSessionEnd> = z.discriminatedUnion('cause', [
  z.strictObject({ cause: z.literal('ns_logout'), server, nsSession: id }),
  z.strictObject({ cause: z.enum(['account_removed', 'account_blocked']), server, account: id }),
]);

/** The messages are a hundred bytes or so; anything far larger on the channel is not ours. */
const maxMessageLength = 2048;

export function publishNsSessionEnd(kv: Pick<Kv, 'publish'>, end: NsSessionEnd): Promise<void> {
  return kv.publish(idpSessionEndsChannel, JSON.stringify(end));
}

/** Messages that do not parse (damaged, or from a newer instance) are dropped. */
export function parseNsSessionEnd(message: string): NsSessionEnd | undefined {
  if (message.length > maxMessageLength) return undefined;
  try {
    const parsed = nsSessionEndSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function subscribeNsSessionEnds(
  kv: Pick<Kv, 'subscribe'>,
  handler: (end: NsSessionEnd) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(idpSessionEndsChannel, (message) => {
    const end = parseNsSessionEnd(message);
    if (end) handler(end);
  });
}
