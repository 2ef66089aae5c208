// Loopback WebSocket server and client for channel tests and the bench (Node only; `ws` with an explicit maxPayload).
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_MAX_FRAME_BYTES, type Transport, webSocketTransport } from '../../protocol/index.js';

export interface LoopbackServer {
  url: string;
  wss: WebSocketServer;
  close(): Promise<void>;
}

/** Starts a ws server on 127.0.0.1 whose every connection is handed to `onTransport` (maxPayload set explicitly). */
export async function startLoopbackServer(
  onTransport: (transport: Transport) => void,
  maxPayload = DEFAULT_MAX_FRAME_BYTES,
): Promise<LoopbackServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    void webSocketTransport(ws).then(onTransport);
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    wss,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Opens a ws client connection and wraps it as a Transport. */
export function openLoopbackClient(url: string, maxPayload = DEFAULT_MAX_FRAME_BYTES): Promise<Transport> {
  return webSocketTransport(new WebSocket(url, { maxPayload, perMessageDeflate: false }));
}
