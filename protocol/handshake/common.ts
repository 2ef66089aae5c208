// Handshake plumbing shared by both roles (docs/protocol.md §7): options, alerts, timeout, fail-closed wrapper.
import type { CryptoProvider, EcdhKeyPair } from '../crypto.js';
import { type Bytes, concat } from '../encoding.js';
import { asChannelError, ChannelError, CLOSE_PROTOCOL_ERROR } from '../errors.js';
import { Frame } from '../frames.js';
import type { Inbox } from '../inbox.js';
import type { SessionOptions } from '../session.js';
import type { Transport } from '../transport.js';
import { AlertSchema, jsonBytes, parseJson, remoteError } from './messages.js';

export interface HandshakeOptions extends SessionOptions {
  /** Versions to offer / accept, most preferred first (default [1]). */
  versions?: readonly number[];
  /** Cipher suite ids to offer / accept, most preferred first (default: AES-256-GCM only). */
  suites?: readonly string[];
  /** Whole-handshake deadline (default 10 s): `timeout`. */
  handshakeTimeoutMs?: number;
  /** WebCrypto to use (default globalThis.crypto). */
  crypto?: CryptoProvider;
  /** Test vectors only: fixed ephemeral ECDH key pair (its public key must be extractable). */
  ephemeral?: EcdhKeyPair;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export function alertFrame(err: ChannelError): Bytes {
  return concat(Uint8Array.of(Frame.alert), jsonBytes({ type: 'alert', code: err.code }));
}

/** Throws the error an alert frame carries. */
export function throwAlert(frame: Bytes): never {
  const alert = parseJson(AlertSchema, frame.subarray(1), 'alert');
  throw remoteError(alert.code, alert.message);
}

/**
 * Runs a handshake with a deadline; on any failure sends an alert (unless the peer sent one or the
 * transport is gone), closes the transport and rethrows as ChannelError. Fail closed.
 */
export async function runHandshake<T>(
  transport: Transport,
  inbox: Inbox,
  timeoutMs: number,
  body: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ChannelError('timeout', `handshake not complete after ${timeoutMs} ms`);
      inbox.fail(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([body(), deadline]);
  } catch (raw) {
    const err = asChannelError(raw);
    inbox.fail(err);
    inbox.drain();
    if (!err.remote && err.code !== 'closed') transport.send(alertFrame(err));
    transport.close(CLOSE_PROTOCOL_ERROR, err.code);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Next handshake frame: alerts become the peer's error, own frame types are a reflection. */
export async function nextFrame(inbox: Inbox, own: readonly number[]): Promise<Bytes> {
  const frame = await inbox.next();
  const type = frame[0] as number;
  if (type === Frame.alert) throwAlert(frame);
  if (own.includes(type)) throw new ChannelError('reflection', `received own frame type ${type}`);
  return frame;
}

/** Frame type check for the state machine. */
export function expectFrame(frame: Bytes, type: number, what: string): void {
  if (frame[0] !== type)
    throw new ChannelError('unexpected_message', `expected ${what}, got frame type ${frame[0]}`);
}
