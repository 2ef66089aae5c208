// `/ns/events`: business events as JSON over a WebSocket for integrators. The upgrade is authorized by
// `X-apikey` (role `sessions`; a server key hears only its own server), `?server=` narrows further; the
// server only sends, keeps the connection alive with ping/pong, drops peers that stop answering, and closes
// the socket of a key revoked since the upgrade at the next ping.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SocketAuthorization, SocketEndpoint } from '../../common/http/mobile-sockets.js';
import type { Logger } from '../../common/logging.js';
import type { ApiPrincipal } from '../apikeys/model.js';
import { AccessDeniedError, requireRole } from '../apikeys/roles.js';
import type { ApiKeyVerifier } from '../apikeys/verify.js';
import { serverNameSchema } from '../servers/model.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { toEventWire } from './model.js';
import type { BusinessEvents } from './service.js';

export interface EventSocketOptions {
  apiKeys: ApiKeyVerifier;
  servers: Pick<VirtualServerRepository, 'findByName'>;
  events: BusinessEvents;
  logger: Logger;
  /** Ping interval; a peer that has not answered the previous ping by the next one is dropped (30 s). */
  pingIntervalMs?: number;
}

/** Clients never need to send anything; a small cap leaves room for a future subscribe message. */
export const eventSocketMaxPayload = 1024;
/** Events queued for a slow reader before it is dropped (it reconnects and reads the audit log). */
const maxBufferedBytes = 1024 * 1024;

export function createEventSocketEndpoint(options: EventSocketOptions): SocketEndpoint {
  const { logger } = options;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;

  /** The server id to filter on (null: all), or the refusal. */
  const scope = async (
    principal: ApiPrincipal,
    req: IncomingMessage,
  ): Promise<{ serverId: string | null } | { refuse: 400 | 403 | 404 }> => {
    try {
      requireRole(principal, 'sessions');
    } catch (err) {
      if (err instanceof AccessDeniedError) return { refuse: 403 };
      throw err;
    }
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const names = query.getAll('server');
    if (names.length > 1) return { refuse: 400 };
    const [name] = names;
    if (name === undefined) return { serverId: principal.serverId };
    // A name that cannot exist, an unknown one and another tenant's all read alike.
    const parsed = serverNameSchema.safeParse(name);
    const server = parsed.success ? await options.servers.findByName(parsed.data) : undefined;
    if (!server || (principal.serverId !== null && principal.serverId !== server.id)) return { refuse: 404 };
    return { serverId: server.id };
  };

  /** Still allowed? Checked at every ping: a revoked key's socket closes within one interval. */
  const stillAllowed = async (
    presented: string | undefined,
    req: IncomingMessage,
    serverId: string | null,
  ) => {
    const principal = await options.apiKeys.verify(presented);
    if (!principal) return false;
    const decision = await scope(principal, req);
    return !('refuse' in decision) && decision.serverId === serverId;
  };

  const serve = (ws: WebSocket, serverId: string | null, recheck: () => Promise<boolean>) => {
    let alive = true;
    let unsubscribe: (() => Promise<void>) | undefined;
    let closed = false;
    const stop = () => {
      if (closed) return;
      closed = true;
      clearInterval(pinger);
      void unsubscribe?.().catch(() => {});
    };
    const pinger = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
      recheck().then(
        (allowed) => {
          // 1008: policy violation — the key was revoked or lost its role since the upgrade.
          if (!allowed && ws.readyState === ws.OPEN) ws.close(1008, 'API key no longer allowed');
        },
        (err: unknown) => logger.warn({ err }, 'events socket could not re-check its key'),
      );
    }, pingIntervalMs);
    pinger.unref();
    ws.on('pong', () => {
      alive = true;
    });
    // Nothing is expected from the client: a message is a protocol error (1003, unsupported data).
    ws.on('message', () => ws.close(1003, 'this socket only sends'));
    ws.on('close', stop);
    ws.on('error', () => ws.terminate());
    options.events
      .subscribe((event) => {
        if (serverId !== null && event.server.id !== serverId) return;
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > maxBufferedBytes) {
          ws.close(1013, 'reader too slow');
          return;
        }
        ws.send(JSON.stringify(toEventWire(event)));
      })
      .then(
        (off) => {
          unsubscribe = off;
          if (closed) void off().catch(() => {});
          else if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'READY' }));
        },
        (err: unknown) => {
          logger.warn({ err }, 'events socket could not subscribe');
          ws.close(1011, 'events unavailable');
        },
      );
  };

  return {
    path: '/ns/events',
    maxPayload: eventSocketMaxPayload,
    async authorize(req): Promise<SocketAuthorization> {
      const header = req.headers['x-apikey'];
      const presented = typeof header === 'string' ? header : undefined;
      const principal = await options.apiKeys.verify(presented);
      if (!principal) return { refuse: 401 };
      const decision = await scope(principal, req);
      if ('refuse' in decision) return decision;
      const { serverId } = decision;
      return { accept: (ws) => serve(ws, serverId, () => stillAllowed(presented, req, serverId)) };
    },
  };
}
