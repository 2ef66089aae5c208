// Handshake inbox (docs/protocol.md §7.1): queues incoming frames for the handshake state machine, enforces frame limits.
import type { Bytes } from './encoding.js';
import { ChannelError } from './errors.js';
import type { Transport } from './transport.js';

/** Queues frames until the handshake reads them; the session takes over the transport and leftovers afterwards. */
/** Bytes a peer may have queued before the handshake reads them (the server may push right after `ready`). */
const MAX_QUEUED_BYTES = 1024 * 1024;

export class Inbox {
  private readonly queue: Bytes[] = [];
  private queuedBytes = 0;
  private waiter: { resolve: (f: Bytes) => void; reject: (e: ChannelError) => void } | null = null;
  private failure: ChannelError | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly maxFrameBytes: number,
  ) {
    transport.onmessage = (frame) => this.push(frame);
    transport.onclose = (code, reason) =>
      this.fail(new ChannelError('closed', `transport closed during handshake (${code} ${reason})`));
  }

  private push(frame: Bytes | string): void {
    if (this.failure) return;
    if (typeof frame === 'string') {
      this.fail(new ChannelError('malformed', 'text frame'));
      return;
    }
    if (frame.length === 0) {
      this.fail(new ChannelError('malformed', 'empty frame'));
      return;
    }
    if (frame.length > this.maxFrameBytes) {
      this.fail(new ChannelError('frame_too_large', `${frame.length} > ${this.maxFrameBytes} bytes`));
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(frame);
    } else if (this.queuedBytes + frame.length > MAX_QUEUED_BYTES) {
      this.fail(new ChannelError('unexpected_message', 'too much data before the handshake completed'));
    } else {
      this.queuedBytes += frame.length;
      this.queue.push(frame);
    }
  }

  /** Fails the pending and every later `next()` (frames already queued are still returned first). */
  fail(err: ChannelError): void {
    if (this.failure) return;
    this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  next(): Promise<Bytes> {
    const frame = this.queue.shift();
    if (frame) {
      this.queuedBytes -= frame.length;
      return Promise.resolve(frame);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Detaches from the transport and returns what arrived after the handshake's last frame. */
  drain(): Bytes[] {
    this.transport.onmessage = null;
    this.transport.onclose = null;
    return this.queue.splice(0);
  }
}
