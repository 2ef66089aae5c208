// Record protection (docs/protocol.md §8): AES-GCM, nonce = iv XOR seq, header as AAD, strict sequence checks.
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  type CryptoProvider,
  importAesGcmKey,
  type SecretKey,
} from './crypto.js';
import { type Bytes, readU64be, writeU64be } from './encoding.js';
import { ChannelError } from './errors.js';

export const HEADER_LENGTH = 9;
export const TAG_LENGTH = 16;
/** Records per key and direction before the channel must be closed (RFC 8446 §5.5 margin for AES-GCM). */
export const MAX_RECORDS_PER_KEY = 2 ** 24;

export function recordNonce(iv: Bytes, seq: number): Bytes {
  const nonce = iv.slice();
  const tmp = new Uint8Array(8);
  writeU64be(tmp, 0, seq);
  for (let i = 0; i < 8; i++) nonce[4 + i] = (nonce[4 + i] as number) ^ (tmp[i] as number);
  return nonce;
}

/** Seals records of one frame type under one key; sequence numbers are assigned in call order. */
export class RecordSealer {
  private seq = 0;
  private constructor(
    private readonly c: CryptoProvider,
    private readonly key: SecretKey,
    private readonly iv: Bytes,
    readonly frameType: number,
  ) {}

  static async create(c: CryptoProvider, key: Bytes, iv: Bytes, frameType: number): Promise<RecordSealer> {
    return new RecordSealer(c, await importAesGcmKey(c, key), iv, frameType);
  }

  get sequence(): number {
    return this.seq;
  }

  /** frame = type ‖ seq(u64be) ‖ AES-GCM(key, iv ⊕ seq, aad = type ‖ seq, contentType ‖ body). */
  seal(contentType: number, body: Uint8Array): Promise<Bytes> {
    const seq = this.seq;
    if (seq >= MAX_RECORDS_PER_KEY) return Promise.reject(new ChannelError('key_exhausted'));
    this.seq = seq + 1;
    const header = new Uint8Array(HEADER_LENGTH);
    header[0] = this.frameType;
    writeU64be(header, 1, seq);
    const plain = new Uint8Array(1 + body.length);
    plain[0] = contentType;
    plain.set(body, 1);
    return aesGcmEncrypt(this.c, this.key, recordNonce(this.iv, seq), header, plain).then((sealed) => {
      const frame = new Uint8Array(HEADER_LENGTH + sealed.length);
      frame.set(header, 0);
      frame.set(sealed, HEADER_LENGTH);
      return frame;
    });
  }
}

export interface OpenedRecord {
  seq: number;
  contentType: number;
  body: Bytes;
}

/** Opens records of one frame type; the sequence check happens synchronously at call time (arrival order). */
export class RecordOpener {
  private expected = 0;
  private constructor(
    private readonly c: CryptoProvider,
    private readonly key: SecretKey,
    private readonly iv: Bytes,
    readonly frameType: number,
  ) {}

  static async create(c: CryptoProvider, key: Bytes, iv: Bytes, frameType: number): Promise<RecordOpener> {
    return new RecordOpener(c, await importAesGcmKey(c, key), iv, frameType);
  }

  open(frame: Bytes): Promise<OpenedRecord> {
    if (frame.length < HEADER_LENGTH + 1 + TAG_LENGTH) {
      return Promise.reject(new ChannelError('malformed', 'record shorter than header and tag'));
    }
    if (frame[0] !== this.frameType)
      return Promise.reject(new ChannelError('unexpected_message', 'wrong record type'));
    const seq = readU64be(frame, 1);
    if (seq < this.expected)
      return Promise.reject(new ChannelError('replay', `record ${seq} < expected ${this.expected}`));
    if (seq > this.expected) {
      return Promise.reject(new ChannelError('out_of_order', `record ${seq} > expected ${this.expected}`));
    }
    if (seq >= MAX_RECORDS_PER_KEY) return Promise.reject(new ChannelError('key_exhausted'));
    this.expected = seq + 1;
    const header = frame.subarray(0, HEADER_LENGTH);
    return aesGcmDecrypt(
      this.c,
      this.key,
      recordNonce(this.iv, seq),
      header,
      frame.subarray(HEADER_LENGTH),
    ).then(
      (plain) => ({ seq, contentType: plain[0] as number, body: plain.subarray(1) }),
      (err: unknown) => {
        throw new ChannelError('decrypt_failed', 'record authentication failed', { cause: err });
      },
    );
  }
}
