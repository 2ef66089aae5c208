// Transport port (docs/protocol.md §2): ordered binary messages; adapters for WebSocket-shaped objects and memory pairs.
import { type Bytes, toBytes } from './encoding.js';

/**
 * What the channel needs from a connection: ordered, reliable binary messages. `onmessage` receives a string
 * for a text frame (always rejected). `onclose` fires once, after every message that arrived before it.
 * Frames that arrive while `onmessage` is null are dropped: call `connect`/`accept` right after creating it.
 */
export interface Transport {
  send(frame: Bytes): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written to the network (back-pressure). */
  readonly bufferedAmount: number;
  onmessage: ((frame: Bytes | string) => void) | null;
  onclose: ((code: number, reason: string) => void) | null;
}

/**
 * The structural subset of the browser WebSocket that the adapter uses. The `ws` package's WebSocket has
 * the same shape (`binaryType = 'arraybuffer'`, `addEventListener`), so one adapter serves Node and browsers.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: ArrayBufferView<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: WebSocketEventLike) => void): void;
}

export interface WebSocketEventLike {
  type: string;
  data?: unknown;
  code?: number;
  reason?: string;
  message?: string;
}

const CONNECTING = 0;
const OPEN = 1;

/** Wraps a WebSocket(-like) object; resolves once it is open (rejects if it fails to open). */
export function webSocketTransport(ws: WebSocketLike): Promise<Transport> {
  ws.binaryType = 'arraybuffer';
  const transport: Transport = {
    send(frame) {
      if (ws.readyState === OPEN) ws.send(frame);
    },
    close(code, reason) {
      if (ws.readyState <= OPEN) ws.close(code, reason);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    onmessage: null,
    onclose: null,
  };
  let closed = false;
  ws.addEventListener('message', (event) => {
    const data = event.data;
    if (typeof data === 'string') transport.onmessage?.(data);
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) transport.onmessage?.(toBytes(data));
    else transport.onmessage?.('');
  });
  // Errors are always followed by 'close'; a listener must exist (an EventEmitter 'error' without one throws).
  ws.addEventListener('error', () => {});
  ws.addEventListener('close', (event) => {
    if (closed) return;
    closed = true;
    transport.onclose?.(event.code ?? 1006, event.reason ?? '');
  });
  if (ws.readyState === OPEN) return Promise.resolve(transport);
  if (ws.readyState !== CONNECTING) return Promise.reject(new Error('WebSocket already closed'));
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(transport));
    ws.addEventListener('error', (event) => reject(new Error(event.message ?? 'WebSocket error')));
    ws.addEventListener('close', (event) => reject(new Error(`WebSocket closed (${event.code ?? 1006})`)));
  });
}

/** Two connected in-memory transports (tests, in-process embedding). Delivery is asynchronous and ordered. */
export function memoryTransportPair(): [Transport, Transport] {
  let open = true;
  const make = (): Transport & { peer?: Transport } => ({
    send(frame) {
      if (!open) return;
      const copy = frame.slice();
      const peer = this.peer;
      queueMicrotask(() => peer?.onmessage?.(copy));
    },
    close(code, reason) {
      if (!open) return;
      open = false;
      queueMicrotask(() => {
        a.onclose?.(code, reason);
        b.onclose?.(code, reason);
      });
    },
    bufferedAmount: 0,
    onmessage: null,
    onclose: null,
  });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
