// Established secure session (docs/protocol.md §8): ordered encrypted records, heartbeat, idle timeout, close, back-pressure.
import type { Bytes } from './encoding.js';
import {
  asChannelError,
  ChannelError,
  type ChannelErrorCode,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
} from './errors.js';
import { CLIENT_FRAMES, Content, DEFAULT_MAX_FRAME_BYTES, RECORD_OVERHEAD, SERVER_FRAMES } from './frames.js';
import { CloseSchema, jsonBytes, parseJson, remoteError, type Target } from './handshake/messages.js';
import type { OpenedRecord, RecordOpener, RecordSealer } from './record.js';
import type { Transport } from './transport.js';

export interface SessionOptions {
  /** Largest frame accepted or sent, whole WebSocket message (default 64 KiB; set ws `maxPayload` to the same). */
  maxFrameBytes?: number;
  /** Close with `timeout` when nothing arrived for this long (default 60 s; 0 disables). */
  idleTimeoutMs?: number;
  /** Send a ping record this often (default 20 s; 0 disables). */
  heartbeatMs?: number;
  /** `send()` waits while more than this many bytes are queued (default 1 MiB). */
  highWaterMark?: number;
}

/** What the handshake established; `transcriptHash` is the binding value of DESIGN.md §4. */
export interface SessionInfo {
  readonly role: 'client' | 'server';
  readonly version: number;
  readonly suite: string;
  readonly target: Target;
  /** TH8: SHA-256 over the whole handshake transcript; equal on both sides. */
  readonly transcriptHash: Bytes;
  /** The server identity key that signed this handshake. */
  readonly serverKey: Bytes;
  /** true when the client accepted the server key through a succession chain (update the pin). */
  readonly serverKeyRotated: boolean;
  /** The client identity key, null for the anonymous (enrolment) variant. */
  readonly clientKey: Bytes | null;
}

const MAX_UNCLAIMED_RECORDS = 1024;
const DRAIN_POLL_MS = 2;

export class SecureSession {
  readonly info: SessionInfo;
  /** Resolves when the session ends: null after a normal close (either side), the error otherwise. */
  readonly closed: Promise<ChannelError | null>;

  private open = true;
  private resolveClosed!: (err: ChannelError | null) => void;
  private sendChain: Promise<unknown> = Promise.resolve();
  private recvChain: Promise<unknown> = Promise.resolve();
  private pendingSealBytes = 0;
  private dataHandler: ((body: Bytes) => void) | null = null;
  private unclaimed: Bytes[] = [];
  private lastReceived = Date.now();
  private lastSent = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly maxFrameBytes: number;
  private readonly highWaterMark: number;
  private readonly ownFrames: readonly number[];

  constructor(
    private readonly transport: Transport,
    private readonly sealer: RecordSealer,
    private readonly opener: RecordOpener,
    info: SessionInfo,
    options: SessionOptions = {},
    leftover: readonly Bytes[] = [],
  ) {
    this.info = info;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.ownFrames = info.role === 'client' ? CLIENT_FRAMES : SERVER_FRAMES;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    transport.onmessage = (frame) => this.receive(frame);
    // Records that arrived before the close are still being decrypted: settle after them (a close record wins).
    transport.onclose = (code, reason) => {
      const err = new ChannelError('closed', `transport closed without close record (${code} ${reason})`);
      this.recvChain = this.recvChain.then(() => this.finish(err));
    };
    this.startTimers(options.idleTimeoutMs ?? 60_000, options.heartbeatMs ?? 20_000);
    for (const frame of leftover) this.receive(frame);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Largest body `send()` accepts. */
  get maxBodyBytes(): number {
    return this.maxFrameBytes - RECORD_OVERHEAD;
  }

  /**
   * Receives data record bodies in order. Records that arrive before a handler is set are kept (up to 1024)
   * and delivered when it is set.
   */
  set onData(handler: ((body: Bytes) => void) | null) {
    this.dataHandler = handler;
    if (handler) for (const body of this.unclaimed.splice(0)) handler(body);
  }

  get onData(): ((body: Bytes) => void) | null {
    return this.dataHandler;
  }

  /**
   * Sends one data record. Resolves when the record is handed to the transport and the queue is below the
   * high-water mark (back-pressure). Throws `frame_too_large` (session stays open) or `closed`.
   */
  async send(body: Uint8Array): Promise<void> {
    if (!this.open) throw new ChannelError('closed', 'session is closed');
    if (body.length > this.maxBodyBytes) {
      throw new ChannelError('frame_too_large', `body of ${body.length} bytes > ${this.maxBodyBytes}`);
    }
    await this.enqueue(Content.data, body);
    if (this.transport.bufferedAmount + this.pendingSealBytes > this.highWaterMark) await this.drain();
  }

  /** Normal close: sends an authenticated close record, then closes the transport. */
  close(): Promise<void> {
    return this.shutdown('normal');
  }

  /** Closes with an error code (sent to the peer in a close record). */
  abort(code: ChannelErrorCode, message?: string): Promise<void> {
    return this.shutdown(code, message);
  }

  private async shutdown(code: ChannelErrorCode | 'normal', message?: string): Promise<void> {
    if (!this.open) return;
    const err = code === 'normal' ? null : new ChannelError(code, message);
    const tail = this.enqueue(Content.close, jsonBytes(message ? { code, message } : { code })).catch(
      () => {},
    );
    this.finish(err);
    await tail;
    this.transport.close(err ? CLOSE_PROTOCOL_ERROR : CLOSE_NORMAL, code);
  }

  /** Ends the session locally (no more sends or deliveries) and settles `closed`. */
  private finish(err: ChannelError | null): void {
    if (!this.open) return;
    this.open = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.transport.onmessage = null;
    this.transport.onclose = null;
    this.resolveClosed(err);
  }

  private fail(err: unknown): void {
    if (!this.open) return;
    const e = asChannelError(err);
    if (e.remote || e.code === 'closed') {
      this.finish(e);
      this.transport.close(CLOSE_PROTOCOL_ERROR, e.code);
    } else {
      void this.shutdown(e.code, e.message);
    }
  }

  /** Seals in call order (sequence numbers), encrypts concurrently, hands frames to the transport in order. */
  private enqueue(contentType: number, body: Uint8Array): Promise<void> {
    const size = body.length + RECORD_OVERHEAD;
    this.pendingSealBytes += size;
    const sealed = this.sealer.seal(contentType, body);
    sealed.catch(() => {});
    const step = this.sendChain.then(() =>
      sealed.then((frame) => {
        this.pendingSealBytes -= size;
        this.lastSent = Date.now();
        this.transport.send(frame);
      }),
    );
    this.sendChain = step.catch((err) => this.fail(err));
    return step;
  }

  private drain(): Promise<void> {
    return new Promise((resolve) => {
      const poll = () => {
        if (!this.open || this.transport.bufferedAmount + this.pendingSealBytes <= this.highWaterMark / 2)
          resolve();
        else setTimeout(poll, DRAIN_POLL_MS);
      };
      poll();
    });
  }

  private receive(frame: Bytes | string): void {
    if (!this.open) return;
    const problem = this.check(frame);
    if (problem) {
      this.fail(problem);
      return;
    }
    this.lastReceived = Date.now();
    const opened = this.opener.open(frame as Bytes);
    opened.catch((err) => this.fail(err));
    this.recvChain = this.recvChain
      .then(() => opened.then((record) => this.dispatch(record)))
      .catch((err) => this.fail(err));
  }

  /** Frame-level checks before decryption: type, size, reflection. */
  private check(frame: Bytes | string): ChannelError | null {
    if (typeof frame === 'string' || frame.length === 0) return new ChannelError('malformed', 'not a record');
    if (frame.length > this.maxFrameBytes) {
      return new ChannelError('frame_too_large', `${frame.length} > ${this.maxFrameBytes} bytes`);
    }
    const type = frame[0] as number;
    if (this.ownFrames.includes(type)) return new ChannelError('reflection', `own frame type ${type}`);
    if (type !== this.opener.frameType)
      return new ChannelError('unexpected_message', `frame type ${type} after handshake`);
    return null;
  }

  private dispatch(record: OpenedRecord): void {
    if (!this.open) return;
    switch (record.contentType) {
      case Content.data:
        if (this.dataHandler) this.dataHandler(record.body);
        else if (this.unclaimed.push(record.body) > MAX_UNCLAIMED_RECORDS) {
          this.fail(new ChannelError('internal', 'no data handler attached'));
        }
        return;
      case Content.ping:
        this.enqueue(Content.pong, new Uint8Array(0)).catch(() => {});
        return;
      case Content.pong:
        return;
      case Content.close: {
        const close = parseJson(CloseSchema, record.body, 'close');
        const err = close.code === 'normal' ? null : remoteError(close.code, close.message);
        this.finish(err);
        this.transport.close(err ? CLOSE_PROTOCOL_ERROR : CLOSE_NORMAL, close.code);
        return;
      }
      default:
        this.fail(new ChannelError('unexpected_message', `content type ${record.contentType}`));
    }
  }

  private startTimers(idleMs: number, heartbeatMs: number): void {
    const periods = [idleMs > 0 ? Math.max(1, Math.ceil(idleMs / 4)) : 0, heartbeatMs].filter((p) => p > 0);
    if (periods.length === 0) return;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        if (idleMs > 0 && now - this.lastReceived >= idleMs) {
          this.fail(new ChannelError('timeout', `nothing received for ${idleMs} ms`));
        } else if (heartbeatMs > 0 && now - this.lastSent >= heartbeatMs) {
          this.enqueue(Content.ping, new Uint8Array(0)).catch(() => {});
        }
      },
      Math.min(...periods),
    );
    (this.timer as { unref?: () => void }).unref?.();
  }
}
