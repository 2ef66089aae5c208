// Opens the SDK's secure channels (NS, SFS) through the platform's transport factory, with SDK error codes.
import {
  Channel,
  type ChannelOptions,
  connect,
  type MessageRegistry,
  type ServerPin,
  type Signer,
  type Target,
  type Transport,
} from '../../protocol/index.js';
import { SdkError, toSdkError } from './errors.js';

/** Opens a WebSocket-like connection to `url` (ws:// or wss://); each platform supplies one. */
export type TransportFactory = (url: string) => Promise<Transport>;

export interface OpenChannelOptions<R extends MessageRegistry> {
  url: string;
  target: Target;
  server: ServerPin;
  /** null: the anonymous enrolment variant. */
  identity: Signer | null;
  registry: R;
  channel?: ChannelOptions;
}

/**
 * Connects and runs the handshake. A transport that cannot be opened is `unreachable`; a server key that is
 * not the pinned one is `bad_server_key`; other handshake failures are `channel_failed` with the channel code.
 */
export async function openChannel<R extends MessageRegistry>(
  transports: TransportFactory,
  options: OpenChannelOptions<R>,
): Promise<Channel<R>> {
  let transport: Transport;
  try {
    transport = await transports(options.url);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SdkError('unreachable', `${options.url}: ${message}`, {}, { cause: err });
  }
  try {
    const session = await connect(transport, {
      target: options.target,
      server: options.server,
      identity: options.identity,
    });
    return new Channel(session, options.registry, options.channel);
  } catch (err) {
    throw toSdkError(err);
  }
}
