// WebSocket upgrades for the mobile secure-channel endpoints (`/ns/mobile`, `/sfs/mobile`, `/mc/mobile`) and
// the plain JSON sockets (`/ns/events`): frame size capped per endpoint, unknown paths and unauthorized
// upgrades refused before any WebSocket exists.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_MAX_FRAME_BYTES } from '../../../protocol/frames.js';
import { type Transport, webSocketTransport } from '../../../protocol/transport.js';
import type { Logger } from '../logging.js';

export interface MobileConnectionInfo {
  ip: string | undefined;
  userAgent: string | undefined;
}

export interface MobileEndpoint {
  path: '/ns/mobile' | '/sfs/mobile' | '/mc/mobile';
  /** Takes over one connection: runs the handshake and serves messages until it closes. */
  accept(transport: Transport, info: MobileConnectionInfo): void;
}

/** A WebSocket endpoint without the secure channel, which authorizes the upgrade request itself. */
export interface SocketEndpoint {
  path: '/ns/events';
  /** Largest message accepted from a client; ws closes the socket (1009) above it. */
  maxPayload: number;
  /** Decides on the upgrade request; a refusal is an HTTP status sent instead of the upgrade. */
  authorize(req: IncomingMessage): Promise<SocketAuthorization>;
}

export type SocketAuthorization = { accept(ws: WebSocket): void } | { refuse: 401 | 403 | 404 | 400 };

const statusTexts = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as const;

export interface MobileSockets {
  /** Open connections (for shutdown and metrics). */
  connections(): number;
  /** Closes every connection with 1001 (going away). */
  close(): Promise<void>;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachMobileSockets(
  server: Server,
  endpoints: readonly MobileEndpoint[],
  options: {
    logger: Logger;
    trustProxy: boolean;
    accepting: () => boolean;
    maxPayload?: number;
    /** Plain JSON sockets served on the same listener. */
    sockets?: readonly SocketEndpoint[];
  },
): MobileSockets {
  const wss = new WebSocketServer({
    noServer: true,
    // Explicit and small: ws would otherwise buffer up to 100 MiB per message before we see it.
    maxPayload: options.maxPayload ?? DEFAULT_MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  const byPath = new Map(endpoints.map((e) => [e.path, e]));
  const plain = new Map(
    (options.sockets ?? []).map((e) => [
      e.path as string,
      {
        endpoint: e,
        wss: new WebSocketServer({ noServer: true, maxPayload: e.maxPayload, perMessageDeflate: false }),
      },
    ]),
  );
  const open = new Set<WebSocket>();

  const upgradePlain = (
    entry: { endpoint: SocketEndpoint; wss: WebSocketServer },
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ) => {
    entry.endpoint.authorize(req).then(
      (decision) => {
        if ('refuse' in decision) return refuse(socket, decision.refuse, statusTexts[decision.refuse]);
        if (!options.accepting()) return refuse(socket, 503, 'Service Unavailable');
        entry.wss.handleUpgrade(req, socket, head, (ws) => {
          open.add(ws);
          ws.once('close', () => open.delete(ws));
          decision.accept(ws);
        });
      },
      (err: unknown) => {
        options.logger.warn({ err, path: entry.endpoint.path }, 'socket upgrade failed');
        refuse(socket, 503, 'Service Unavailable');
      },
    );
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const plainEntry = plain.get(path);
    if (plainEntry) {
      if (!options.accepting()) return refuse(socket, 503, 'Service Unavailable');
      return upgradePlain(plainEntry, req, socket, head);
    }
    const endpoint = byPath.get(path as MobileEndpoint['path']);
    if (!endpoint) return refuse(socket, 404, 'Not Found');
    if (!options.accepting()) return refuse(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      ws.once('close', () => open.delete(ws));
      const forwarded = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
      const ip =
        (typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined) ??
        req.socket.remoteAddress;
      const info = { ip, userAgent: req.headers['user-agent'] };
      webSocketTransport(ws).then(
        (transport) => endpoint.accept(transport, info),
        (err: unknown) => {
          options.logger.warn({ err, path }, 'mobile socket setup failed');
          ws.terminate();
        },
      );
    });
  });

  return {
    connections: () => open.size,
    async close() {
      const closing = [...open].map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once('close', () => resolve());
            ws.close(1001, 'server shutting down');
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 1000).unref();
          }),
      );
      await Promise.all(closing);
      wss.close();
      for (const entry of plain.values()) entry.wss.close();
    },
  };
}
