// Browser transport factory for the SDK: the page's (or service worker's) WebSocket, wrapped as a Transport.
import { type Transport, webSocketTransport } from '../../protocol/index.js';
import type { TransportFactory } from '../core/channels.js';

export interface BrowserWebSocketOptions {
  /** Deadline for the WebSocket to open (default 10 s); the browser's own is minutes. */
  openTimeoutMs?: number;
}

/**
 * The browser WebSocket has no per-message size limit to set (the Node adapter sets `maxPayload`): the
 * channel drops oversized frames itself, and the browser negotiates no compression unless the server asks.
 */
export function browserWebSocketFactory(options: BrowserWebSocketOptions = {}): TransportFactory {
  return async (url: string): Promise<Transport> => {
    if (!/^wss?:\/\//i.test(url)) throw new Error('not a ws:// or wss:// URL');
    const ws = new WebSocket(url);
    // Closing a connecting socket fails it: webSocketTransport then rejects with the close.
    const timer = setTimeout(() => ws.close(), options.openTimeoutMs ?? 10_000);
    try {
      return await webSocketTransport(ws);
    } finally {
      clearTimeout(timer);
    }
  };
}
