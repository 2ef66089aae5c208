// Server-sent events of one session's LoginStatus: read from storage on connect and on a slow poll, because
// pub/sub may drop messages (Redis reconnects, another instance's publish); in between, each bus message
// carries the status after the change, so it is written as it is (one that does not is a cue to re-read).
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Kv } from '../../common/kv/kv.js';
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

export async function streamSessionEvents(
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
  const stream = new PassThrough();
  let closed = false;
  let last = '';
  let lastProgress = 0;
  let queue: Promise<void> = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: (() => Promise<void>) | undefined;

  const finish = () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearInterval(t);
    unsubscribe?.().catch((err: unknown) => logger.warn({ err }, 'sse unsubscribe failed'));
    stream.end();
  };

  // Serialised: a bus message and a poll landing together must not write out of order.
  const refresh = (announced?: LoginStatus) => {
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const current = announced ?? (await status(sessionId));
        // Messages from different instances may arrive out of order; storage reads are the truth.
        if (announced && progress(current.state) < lastProgress) return;
        const json = JSON.stringify(current);
        if (json !== last) {
          last = json;
          lastProgress = progress(current.state);
          stream.write(`event: state\ndata: ${json}\n\n`);
        }
        // A final state is the last thing this stream will ever say: the page moves on or starts over.
        if (finalStates.includes(current.state)) finish();
      } catch (err) {
        logger.warn({ err }, 'sse refresh failed');
        finish();
      }
    });
  };
  const reread = () => refresh();
  const onEvent = (event: SessionEvent) => refresh(event.status);

  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  // The response's close covers both ends: the client going away and our own end of the stream.
  ctx.res.on('close', finish);
  ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
  ctx.set('Cache-Control', 'no-store');
  // nginx would otherwise buffer the stream and deliver events late.
  ctx.set('X-Accel-Buffering', 'no');
  ctx.status = 200;
  ctx.body = stream;

  // Subscribe before the first read, so a change between the two is not missed.
  unsubscribe = await subscribeSessionEvents(kv, sessionId, onEvent);
  if (closed) await unsubscribe();
  stream.write('retry: 3000\n\n');
  reread();
  timers.push(setInterval(reread, options.pollIntervalMs ?? 5000));
  timers.push(
    setInterval(() => {
      if (!closed) stream.write(': keep-alive\n\n');
    }, options.heartbeatMs ?? 15_000),
  );
}
