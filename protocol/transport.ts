// Transport port (docs/protocol.md §2): ordered binary messages; adapters for WebSocket-shaped objects and memory pairs.
import { type Bytes, toBytes } from './encoding.js';

/**
 * What the channel needs from a connection: ordered, reliable binary messages. `onmessage` receives a string
 * for a text frame (always rejected). `onclose` fires once, after every message that arrived before it.
 * The adapters below hold frames (up to 1 MiB) and the close event that arrive while no handler is set, and
 * deliver them in order once one is, so a server may do async work between upgrade and `accept`.
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
const MAX_HELD_BYTES = 1024 * 1024;

/** Event delivery that holds frames and the close while no handler is attached (bounded; beyond: dropped). */
class Delivery {
  private held: (Bytes | string)[] = [];
  private heldBytes = 0;
  private closeEvent: [number, string] | null = null;
  private onMessage: ((frame: Bytes | string) => void) | null = null;
  private onClose: ((code: number, reason: string) => void) | null = null;

  attach(transport: Omit<Transport, 'onmessage' | 'onclose'>): Transport {
    const delivery = this;
    return Object.defineProperties(transport, {
      onmessage: {
        get: () => delivery.onMessage,
        set(handler: Delivery['onMessage']) {
          delivery.onMessage = handler;
          delivery.flush();
        },
      },
      onclose: {
        get: () => delivery.onClose,
        set(handler: Delivery['onClose']) {
          delivery.onClose = handler;
          delivery.flush();
        },
      },
    }) as Transport;
  }

  message(frame: Bytes | string): void {
    if (this.onMessage && this.held.length === 0) {
      this.onMessage(frame);
      return;
    }
    if (this.heldBytes + frame.length > MAX_HELD_BYTES) return;
    this.heldBytes += frame.length;
    this.held.push(frame);
  }

  close(code: number, reason: string): void {
    this.closeEvent = [code, reason];
    this.flush();
  }

  private flush(): void {
    while (this.onMessage && this.held.length > 0) {
      const frame = this.held.shift() as Bytes | string;
      this.heldBytes -= frame.length;
      this.onMessage(frame);
    }
    if (this.closeEvent && this.onClose && this.held.length === 0) {
      const [code, reason] = this.closeEvent;
      this.closeEvent = null;
      this.onClose(code, reason);
    }
  }
}

/** Wraps a WebSocket(-like) object; resolves once it is open (rejects if it fails to open). */
export function webSocketTransport(ws: WebSocketLike): Promise<Transport> {
  ws.binaryType = 'arraybuffer';
  const delivery = new Delivery();
  const transport = delivery.attach({
    send(frame) {
      if (ws.readyState === OPEN) ws.send(frame);
    },
    close(code, reason) {
      if (ws.readyState <= OPEN) ws.close(code, reason);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  });
  let closed = false;
  ws.addEventListener('message', (event) => {
    const data = event.data;
    if (typeof data === 'string') delivery.message(data);
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) delivery.message(toBytes(data));
    else delivery.message('');
  });
  // Errors are always followed by 'close'; a listener must exist (an EventEmitter 'error' without one throws).
  ws.addEventListener('error', () => {});
  ws.addEventListener('close', (event) => {
    if (closed) return;
    closed = true;
    delivery.close(event.code ?? 1006, event.reason ?? '');
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
  const deliveries = [new Delivery(), new Delivery()] as const;
  const make = (self: 0 | 1): Transport =>
    deliveries[self].attach({
      send(frame) {
        if (!open) return;
        const copy = frame.slice();
        queueMicrotask(() => deliveries[self === 0 ? 1 : 0].message(copy));
      },
      close(code, reason) {
        if (!open) return;
        open = false;
        queueMicrotask(() => {
          deliveries[0].close(code, reason);
          deliveries[1].close(code, reason);
        });
      },
      bufferedAmount: 0,
    });
  return [make(0), make(1)];
}
