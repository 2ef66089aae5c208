// The `/sfs/mobile` WebSocket endpoint: secure-channel handshake as the SFS, then the SFS message handlers.
import { accept, Channel, ChannelError, type Transport } from '../../../protocol/index.js';
import { sfsMobileMessages } from '../../../protocol/mobile/sfs.js';
import type { Clock } from '../../common/clock.js';
import type { MobileConnectionInfo, MobileEndpoint } from '../../common/http/mobile-sockets.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { SfsApi } from '../service.js';
import { type BrakeOptions, channelBrake } from './brake.js';
import { installSfsHandlers } from './handlers.js';

export interface SfsMobileOptions {
  api: SfsApi;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  brake?: BrakeOptions;
  /** Handshake deadline (default of the protocol: 10 s). */
  handshakeTimeoutMs?: number;
}

export function createSfsMobileEndpoint(options: SfsMobileOptions): MobileEndpoint {
  return {
    path: '/sfs/mobile',
    accept(transport, info) {
      void serveChannel(transport, info, options);
    },
  };
}

async function serveChannel(transport: Transport, info: MobileConnectionInfo, options: SfsMobileOptions) {
  const { api, logger } = options;
  let session: Awaited<ReturnType<typeof accept>>;
  try {
    session = await accept(transport, {
      // Only this SFS's own id: a client asking for another SFS has the wrong configuration.
      resolveTarget: async (target) =>
        target.kind === 'sfs' && target.id === (await api.channelId)
          ? { signer: (await api.sfsIdentity()).signer }
          : null,
      // Any key that completed the handshake proved it holds the private half, which is all an app
      // instance is; what it may do is decided per request. Anonymous clients have no instance to act for.
      authorizeClient: (client) => client.key !== null,
      ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    });
  } catch (err) {
    // accept() has already alerted the client and closed the transport.
    const code = err instanceof ChannelError ? err.code : 'internal';
    logger.debug({ code, ip: info.ip }, 'sfs channel handshake failed');
    return;
  }
  const clientKey = session.info.clientKey;
  if (clientKey === null) {
    await session.abort('bad_client_key', 'anonymous client');
    return;
  }
  const channel = new Channel(session, sfsMobileMessages);
  installSfsHandlers(channel, {
    api,
    clientKey,
    brake: channelBrake(options.kv, options.clock, session.info.transcriptHash, options.brake),
    logger,
  });
  void session.closed.then((err) => {
    if (err) logger.debug({ code: err.code, remote: err.remote, ip: info.ip }, 'sfs channel ended');
  });
}
