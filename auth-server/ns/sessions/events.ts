// Session state changes on the shared bus: any instance may hold the browser's SSE stream.
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { SessionState } from './model.js';

/** One channel per session id (an internal id: the bus is not reachable from outside). */
export function sessionChannel(sessionId: string): string {
  return `ns:session:${sessionId}`;
}

/**
 * Best effort: the state is already committed, and listeners re-read storage and poll, so a lost or failed
 * publish only delays the browser; it must not turn a successful transition into an error.
 */
export async function publishSessionState(
  kv: Kv,
  logger: Logger,
  sessionId: string,
  state: SessionState,
): Promise<void> {
  try {
    await kv.publish(sessionChannel(sessionId), state);
  } catch (err) {
    logger.warn({ err, sessionId, state }, 'session event not published');
  }
}

export function subscribeSessionEvents(
  kv: Kv,
  sessionId: string,
  handler: (state: string) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(sessionChannel(sessionId), handler);
}
