// HTTP listeners with graceful shutdown: stop accepting, let in-flight requests finish (bounded), then close.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Emitted on the `http.Server` when its listener starts closing. Responses that would otherwise stay open
 * until the shutdown timeout (server-sent events) end themselves on it, so their clients reconnect to
 * another instance at once instead of waiting for this one to give up on them.
 */
export const closingEvent = 'nextauth:closing';

/** Calls `end` when the listener serving `socket` starts closing; returns the function that stops listening. */
export function onListenerClosing(socket: Socket, end: () => void): () => void {
  const server = (socket as Socket & { server?: Server }).server;
  if (!server) return () => {};
  server.once(closingEvent, end);
  return () => server.off(closingEvent, end);
}

export interface Listener {
  server: Server;
  port: number;
  /** Requests currently being handled (drained on shutdown). */
  inFlight(): number;
  /** Stops accepting, waits up to `timeoutMs` for in-flight requests, then drops what is left. */
  close(timeoutMs: number): Promise<void>;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port: number,
  host: string,
): Promise<Listener> {
  let active = 0;
  const server = createServer((req, res) => {
    active++;
    res.once('close', () => {
      active--;
      // A keep-alive socket that just finished its last request would otherwise hold close() open.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    // Once shutdown has begun, tell keep-alive clients to go elsewhere.
    if (closing) res.setHeader('Connection', 'close');
    handler(req, res);
  });
  // Bound slow clients (slowloris) without affecting long-lived SSE responses.
  server.headersTimeout = 20_000;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  // One listener per open event stream: thousands are normal, not a leak.
  server.setMaxListeners(0);
  let closing = false;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    inFlight: () => active,
    close(timeoutMs) {
      if (!closing) {
        closing = true;
        server.emit(closingEvent);
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
