// Session state changes on the shared bus: any instance may hold the browser's SSE stream.
import { z } from 'zod';
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import { declineReasonSchema, type LoginStatus, sessionStateSchema } from './model.js';

/** One channel per session id (an internal id: the bus is not reachable from outside). */
export function sessionChannel(sessionId: string): string {
  return `ns:session:${sessionId}`;
}

/**
 * What a message says: the session's LoginStatus right after the change, so a listener need not read it
 * back. A message that is not one (an older instance sent only the state's name, or it was damaged) is
 * `{ status: undefined }`: listeners then re-read storage, as they do on connect and on their slow poll.
 */
export interface SessionEvent {
  status: LoginStatus | undefined;
}

const statusSchema = z.object({
  loggedin: z.boolean(),
  state: sessionStateSchema,
  server: z.string(),
  expiresAt: z.string(),
  userid: z.string().optional(),
  accountid: z.string().optional(),
  hsid: z.string().optional(),
  declineReason: declineReasonSchema.optional(),
});

/** Messages are small JSON objects; anything far larger is not ours. */
const maxMessageLength = 4096;

export function parseSessionEvent(message: string): SessionEvent {
  if (message.length > maxMessageLength || !message.startsWith('{')) return { status: undefined };
  try {
    const parsed = statusSchema.safeParse(JSON.parse(message));
    if (!parsed.success) return { status: undefined };
    // Rebuilt member by member: the same status always serialises to the same text (the SSE compares it).
    const { loggedin, state, server, expiresAt, userid, accountid, hsid, declineReason } = parsed.data;
    const status: LoginStatus = { loggedin, state, server, expiresAt };
    if (userid !== undefined) status.userid = userid;
    if (accountid !== undefined) status.accountid = accountid;
    if (hsid !== undefined) status.hsid = hsid;
    if (declineReason !== undefined) status.declineReason = declineReason;
    return { status };
  } catch {
    return { status: undefined };
  }
}

/**
 * Best effort: the state is already committed, and listeners re-read storage and poll, so a lost or failed
 * publish only delays the browser; it must not turn a successful transition into an error.
 */
export async function publishSessionState(
  kv: Kv,
  logger: Logger,
  sessionId: string,
  status: LoginStatus,
): Promise<void> {
  try {
    await kv.publish(sessionChannel(sessionId), JSON.stringify(status));
  } catch (err) {
    logger.warn({ err, sessionId, state: status.state }, 'session event not published');
  }
}

export function subscribeSessionEvents(
  kv: Kv,
  sessionId: string,
  handler: (event: SessionEvent) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(sessionChannel(sessionId), (message) => handler(parseSessionEvent(message)), {
    // Changes announced while the bus was down were lost: "re-read storage", like an unreadable message.
    onResubscribed: () => handler({ status: undefined }),
  });
}
