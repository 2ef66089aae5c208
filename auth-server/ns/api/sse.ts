// Server-sent events of a stored state (a login session's LoginStatus, an enrol view's progress): storage is
// the truth, the bus only a cue, so a dropped message delays an event by at most one poll.
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { onListenerClosing } from '../../common/http/server.js';
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import { type SessionEvent, subscribeSessionEvents } from '../sessions/events.js';
import { finalStates, type LoginStatus, type SessionState } from '../sessions/model.js';

export interface SseOptions {
  /** Safety-net storage poll (default 5 s). */
  pollIntervalMs?: number;
  /** Comment lines that keep proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
}

/** How far along the state machine a state is: a late message never takes the stream back. */
const progress = (state: SessionState): number =>
  finalStates.includes(state) ? 2 : state === 'scanned' ? 1 : 0;

/** A state that lives in storage and whose changes are announced on the bus. */
export interface StateSource<T> {
  /** The state as stored now; `undefined` (gone) ends the stream. */
  read(): Promise<T | undefined>;
  /** Subscribes to change cues; a cue may carry the state after the change, else it means "re-read". */
  subscribe(cue: (announced?: T) => void): Promise<Unsubscribe>;
  /** The last state the stream will ever send. */
  isFinal(state: T): boolean;
  /** Whether an announced state may follow the one last written (bus messages can arrive out of order). */
  accepts?(announced: T, written: T | undefined): boolean;
  logger: Logger;
}

/**
 * Server-sent `state` events of one stored state: read on connect and on a slow poll, because pub/sub may
 * drop messages (Redis reconnects, another instance's publish); in between, each bus cue is written as it
 * carries the state or makes the stream read it again. Ends after a final state.
 */
export async function streamStates<T>(
  ctx: Context,
  source: StateSource<T>,
  options: SseOptions = {},
): Promise<void> {
  const { logger } = source;
  const stream = new PassThrough();
  let closed = false;
  let last = '';
  let written: T | undefined;
  let queue: Promise<void> = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: Unsubscribe | undefined;
  let stopWatchingShutdown = () => {};

  const finish = () => {
    if (closed) return;
    closed = true;
    stopWatchingShutdown();
    for (const t of timers) clearInterval(t);
    unsubscribe?.().catch((err: unknown) => logger.warn({ err }, 'sse unsubscribe failed'));
    stream.end();
  };

  // Serialised: a bus message and a poll landing together must not write out of order.
  const refresh = (announced?: T) => {
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const current = announced ?? (await source.read());
        if (current === undefined) return finish();
        // Storage reads are the truth; an announced state only moves the stream forward.
        if (announced !== undefined && source.accepts && !source.accepts(announced, written)) return;
        const json = JSON.stringify(current);
        if (json !== last) {
          last = json;
          written = current;
          stream.write(`event: state\ndata: ${json}\n\n`);
        }
        // A final state is the last thing this stream will ever say: the page moves on or starts over.
        if (source.isFinal(current)) finish();
      } catch (err) {
        logger.warn({ err }, 'sse refresh failed');
        finish();
      }
    });
  };

  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  // The response's close covers both ends: the client going away and our own end of the stream.
  ctx.res.on('close', finish);
  // A stopping instance ends its streams at once; the browser reconnects (after `retry`) to another one.
  stopWatchingShutdown = onListenerClosing(ctx.req.socket, finish);
  ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
  ctx.set('Cache-Control', 'no-store');
  // nginx would otherwise buffer the stream and deliver events late.
  ctx.set('X-Accel-Buffering', 'no');
  ctx.status = 200;
  ctx.body = stream;

  // Subscribe before the first read, so a change between the two is not missed.
  unsubscribe = await source.subscribe(refresh);
  if (closed) await unsubscribe();
  stream.write('retry: 3000\n\n');
  refresh();
  timers.push(setInterval(() => refresh(), options.pollIntervalMs ?? 5000));
  timers.push(
    setInterval(() => {
      if (!closed) stream.write(': keep-alive\n\n');
    }, options.heartbeatMs ?? 15_000),
  );
}

/** The login page's stream of one session's LoginStatus (bus messages carry the status after the change). */
export function streamSessionEvents(
  ctx: Context,
  deps: {
    sessionId: string;
    status: (sessionId: string) => Promise<LoginStatus>;
    kv: Kv;
    logger: Logger;
  },
  options: SseOptions = {},
): Promise<void> {
  const { sessionId, status, kv, logger } = deps;
  return streamStates<LoginStatus>(
    ctx,
    {
      read: () => status(sessionId),
      subscribe: (cue) => subscribeSessionEvents(kv, sessionId, (event: SessionEvent) => cue(event.status)),
      isFinal: (s) => finalStates.includes(s.state),
      accepts: (announced, written) => progress(announced.state) >= (written ? progress(written.state) : 0),
      logger,
    },
    options,
  );
}
