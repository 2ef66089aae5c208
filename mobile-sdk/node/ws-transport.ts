// Node transport factory for the SDK: a `ws` WebSocket with the channel's frame cap, wrapped as a Transport.
import { WebSocket } from 'ws';
import { DEFAULT_MAX_FRAME_BYTES, type Transport, webSocketTransport } from '../../protocol/index.js';
import type { TransportFactory } from '../core/channels.js';

export interface WsTransportOptions {
  /** Largest incoming message (default 64 KiB, the channel maximum: bigger ones are dropped unbuffered). */
  maxPayload?: number;
  /** Deadline for the WebSocket to open (default 10 s). */
  openTimeoutMs?: number;
  /** Sent as User-Agent (the NS shows it with the account's devices). */
  userAgent?: string;
}

/** Opens `url` with `ws`; permessage-deflate is off (ciphertext does not compress, docs/protocol.md §2). */
export function wsTransportFactory(options: WsTransportOptions = {}): TransportFactory {
  return (url: string): Promise<Transport> => {
    const ws = new WebSocket(url, {
      maxPayload: options.maxPayload ?? DEFAULT_MAX_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: options.openTimeoutMs ?? 10_000,
      ...(options.userAgent ? { headers: { 'user-agent': options.userAgent } } : {}),
    });
    return webSocketTransport(ws);
  };
}
