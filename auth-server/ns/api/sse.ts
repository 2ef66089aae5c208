// Server-sent events of one session's LoginStatus: re-read from storage on connect, on every bus message,
// and on a slow poll, because pub/sub may drop messages (Redis reconnects, another instance's publish).
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import { subscribeSessionEvents } from '../sessions/events.js';
import { finalStates, type LoginStatus } from '../sessions/model.js';

export interface SseOptions {
  /** Safety-net storage poll (default 5 s). */
  pollIntervalMs?: number;
  /** Comment lines that keep proxies from closing an idle stream (default 15 s). */
  heartbeatMs?: number;
}

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
  const refresh = () => {
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const current = await status(sessionId);
        const json = JSON.stringify(current);
        if (json !== last) {
          last = json;
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
  unsubscribe = await subscribeSessionEvents(kv, sessionId, refresh);
  if (closed) await unsubscribe();
  stream.write('retry: 3000\n\n');
  refresh();
  timers.push(setInterval(refresh, options.pollIntervalMs ?? 5000));
  timers.push(
    setInterval(() => {
      if (!closed) stream.write(': keep-alive\n\n');
    }, options.heartbeatMs ?? 15_000),
  );
}
