// The `/mc/mobile` WebSocket endpoint: secure-channel handshake as the MC, then the mailbox handlers.
import { accept, Channel, ChannelError, type Transport } from '../../../protocol/index.js';
import { mcMobileMessages } from '../../../protocol/mobile/mc.js';
import type { Clock } from '../../common/clock.js';
import type { MobileConnectionInfo, MobileEndpoint } from '../../common/http/mobile-sockets.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { McApi } from '../service.js';
import { type McBrakeOptions, mcChannelBrake } from './brake.js';
import { installMcHandlers } from './handlers.js';

export interface McMobileOptions {
  api: McApi;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  brake?: McBrakeOptions;
  /** Handshake deadline (default of the protocol: 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * Heartbeat and idle timeout of the channel (protocol defaults 20 s / 60 s). A subscription is a
   * long-lived channel: the heartbeats keep it (and NAT / proxy state on the way) alive while idle.
   */
  heartbeatMs?: number;
  idleTimeoutMs?: number;
}

export function createMcMobileEndpoint(options: McMobileOptions): MobileEndpoint {
  return {
    path: '/mc/mobile',
    accept(transport, info) {
      void serveChannel(transport, info, options);
    },
  };
}

async function serveChannel(transport: Transport, info: MobileConnectionInfo, options: McMobileOptions) {
  const { api, logger } = options;
  let session: Awaited<ReturnType<typeof accept>>;
  try {
    session = await accept(transport, {
      // Only this MC's own id: a client asking for another MC has the wrong configuration.
      resolveTarget: async (target) =>
        target.kind === 'mc' && target.id === (await api.channelId)
          ? { signer: (await api.identity()).signer }
          : null,
      // The handshake proves the app-instance key; anonymous clients have no mailbox.
      authorizeClient: (client) => client.key !== null,
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
  } catch (err) {
    const code = err instanceof ChannelError ? err.code : 'internal';
    logger.debug({ code, ip: info.ip }, 'mc channel handshake failed');
    return;
  }
  const clientKey = session.info.clientKey;
  if (clientKey === null) {
    await session.abort('bad_client_key', 'anonymous client');
    return;
  }
  const channel = new Channel(session, mcMobileMessages);
  const release = installMcHandlers(channel, {
    api,
    clientKey,
    clock: options.clock,
    logger,
    brake: mcChannelBrake(options.kv, options.clock, session.info.transcriptHash, options.brake),
  });
  void session.closed.then(async (err) => {
    await release().catch(() => {});
    if (err) logger.debug({ code: err.code, remote: err.remote, ip: info.ip }, 'mc channel ended');
  });
}
