// Shared test helpers for the secure channel (Node and headless Chromium): identities, pairs, a tampering relay.
import { expect } from 'chai';
import {
  accept,
  type Bytes,
  ChannelError,
  type ChannelErrorCode,
  type ClientOptions,
  connect,
  generateIdentityKeyPair,
  memoryTransportPair,
  type SecureSession,
  type ServerOptions,
  type Signer,
  signerFromKeyPair,
  type Transport,
} from '../../protocol/index.js';

export const target = { kind: 'ns', id: 'default' } as const;

export async function newSigner(): Promise<Signer> {
  return signerFromKeyPair(await generateIdentityKeyPair());
}

export type Direction = 'c2s' | 's2c';
/**
 * Returns the frames to forward instead of `frame` (empty = drop). `index` counts frames per direction;
 * `back` sends a frame back to the side that sent `frame` (reflection).
 */
export type Tamper = (dir: Direction, frame: Bytes, index: number, back: (frame: Bytes) => void) => Bytes[];

export interface Relay {
  client: Transport;
  server: Transport;
  /** Sends a frame to one side as if it came from the other. */
  inject(dir: Direction, frame: Bytes): void;
  seen: Record<Direction, Bytes[]>;
}

/** client ⇄ relay ⇄ server; the relay may drop, duplicate, reorder, rewrite or reflect frames. */
export function relay(tamper: Tamper = (_d, f) => [f]): Relay {
  const [client, relayC] = memoryTransportPair();
  const [relayS, server] = memoryTransportPair();
  const seen: Record<Direction, Bytes[]> = { c2s: [], s2c: [] };
  relayC.onmessage = (frame) => {
    if (typeof frame === 'string') return;
    seen.c2s.push(frame);
    for (const f of tamper('c2s', frame, seen.c2s.length - 1, (b) => relayC.send(b))) relayS.send(f);
  };
  relayS.onmessage = (frame) => {
    if (typeof frame === 'string') return;
    seen.s2c.push(frame);
    for (const f of tamper('s2c', frame, seen.s2c.length - 1, (b) => relayS.send(b))) relayC.send(f);
  };
  relayC.onclose = (code, reason) => relayS.close(code, reason);
  relayS.onclose = (code, reason) => relayC.close(code, reason);
  return {
    client,
    server,
    seen,
    inject: (dir, frame) => (dir === 'c2s' ? relayS.send(frame) : relayC.send(frame)),
  };
}

export interface Parties {
  serverSigner: Signer;
  clientSigner: Signer;
}

export async function parties(): Promise<Parties> {
  return { serverSigner: await newSigner(), clientSigner: await newSigner() };
}

export interface PairOptions {
  client?: Partial<ClientOptions>;
  server?: Partial<ServerOptions>;
  tamper?: Tamper;
  transports?: { client: Transport; server: Transport };
}

export interface PairResult {
  client: PromiseSettledResult<SecureSession>;
  server: PromiseSettledResult<SecureSession>;
  relay: Relay;
}

/** Runs both handshakes (default: authenticated client, server key pinned directly). */
export async function handshake(p: Parties, options: PairOptions = {}): Promise<PairResult> {
  const r = relay(options.tamper);
  const transports = options.transports ?? r;
  const [client, server] = await Promise.allSettled([
    connect(transports.client, {
      target,
      server: { keys: [p.serverSigner.publicKey] },
      identity: p.clientSigner,
      handshakeTimeoutMs: 2000,
      ...options.client,
    }),
    accept(transports.server, {
      resolveTarget: (t) =>
        t.kind === target.kind && t.id === target.id ? { signer: p.serverSigner } : null,
      authorizeClient: () => true,
      handshakeTimeoutMs: 2000,
      ...options.server,
    }),
  ]);
  return { client, server, relay: r };
}

export async function established(p: Parties, options: PairOptions = {}) {
  const r = await handshake(p, options);
  if (r.client.status === 'rejected') throw r.client.reason;
  if (r.server.status === 'rejected') throw r.server.reason;
  return { client: r.client.value, server: r.server.value, relay: r.relay };
}

export function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'ok';
  const e = result.reason;
  return e instanceof ChannelError ? `${e.remote ? 'remote:' : ''}${e.code}` : `error:${String(e)}`;
}

/** Asserts that a handshake side failed with `code` (detected locally). */
export function expectLocal(result: PromiseSettledResult<unknown>, code: ChannelErrorCode): void {
  expect(codeOf(result)).to.equal(code);
}

/** The other side must fail too (fail closed): with the peer's alert code or a closed transport. */
export function expectFailed(result: PromiseSettledResult<unknown>): void {
  expect(result.status, 'other side must fail closed').to.equal('rejected');
}

export async function expectRejects(promise: Promise<unknown>, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect((err as { code?: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected rejection with ${code}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const text = (s: string): Bytes => new TextEncoder().encode(s) as Bytes;
export const untext = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Rewrites the JSON of a plaintext handshake frame (client_hello / server_hello). */
export function rewriteJson(frame: Bytes, edit: (value: Record<string, unknown>) => void): Bytes {
  const value = JSON.parse(untext(frame.subarray(1))) as Record<string, unknown>;
  edit(value);
  const body = text(JSON.stringify(value));
  const out = new Uint8Array(1 + body.length);
  out[0] = frame[0] as number;
  out.set(body, 1);
  return out;
}

export function flipByte(frame: Bytes, index: number): Bytes {
  const out = frame.slice();
  const i = index < 0 ? out.length + index : index;
  out[i] = (out[i] as number) ^ 0x01;
  return out;
}
