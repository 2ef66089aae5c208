// Message layer (docs/protocol.md §9): typed request/response, server push and error frames with correlation ids, zod-validated.
import { z } from 'zod';
import { fromUtf8, utf8 } from './encoding.js';
import { ChannelError } from './errors.js';
import type { SecureSession } from './session.js';

/** One request type: the shape of its body and of its response body. */
export interface RequestSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  request: Req;
  response: Res;
}

/** Every message type two peers exchange, by name. Both sides may request and push. */
export interface MessageRegistry {
  requests: Record<string, RequestSpec>;
  pushes: Record<string, z.ZodType>;
}

/** Identity helper that keeps the literal types of a registry. */
export function defineMessages<R extends MessageRegistry>(registry: R): R {
  return registry;
}

/** Own-property lookup: a peer's `type` of "constructor" or "__proto__" must not reach Object.prototype. */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

const typeName = z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/);
const id = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const errorCode = z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/);

/** The four envelopes; `body` is validated separately against the registry. */
export const EnvelopeSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('req'), id, type: typeName, body: z.unknown() }),
  z.object({ t: z.literal('res'), id, body: z.unknown() }),
  z.object({
    t: z.literal('err'),
    id: id.optional(),
    code: errorCode,
    message: z.string().max(1024).optional(),
  }),
  z.object({ t: z.literal('push'), type: typeName, body: z.unknown() }),
]);
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Message-level error codes of this layer; handlers may use their own (lower-case, `[a-z0-9_.]`). */
export type MessageErrorCode =
  | 'bad_request'
  | 'bad_response'
  | 'unknown_type'
  | 'busy'
  | 'timeout'
  | 'internal'
  | (string & {});

/** An error answer to one request. Throw it from a handler to send its code; `request()` rejects with it. */
export class MessageError extends Error {
  override readonly name = 'MessageError';
  constructor(
    readonly code: MessageErrorCode,
    message?: string,
    readonly remote = false,
  ) {
    super(message ? `${code}: ${message}` : code);
  }
}

export interface ChannelOptions {
  /** Reject a request with `timeout` after this long (default 30 s). */
  requestTimeoutMs?: number;
  /** Outstanding own requests (default 256): more reject with `busy` locally. */
  maxPendingRequests?: number;
  /** Peer requests handled at once (default 64): more are answered with `busy`. */
  maxConcurrentHandlers?: number;
  /** Error frames that answer no request (e.g. a refused push). */
  onError?: (error: MessageError) => void;
}

type Req<R extends MessageRegistry, K extends keyof R['requests']> = R['requests'][K]['request'];
type Res<R extends MessageRegistry, K extends keyof R['requests']> = R['requests'][K]['response'];

export type RequestHandler<R extends MessageRegistry, K extends keyof R['requests']> = (
  body: z.output<Req<R, K>>,
  channel: Channel<R>,
) => z.input<Res<R, K>> | Promise<z.input<Res<R, K>>>;

export type PushHandler<R extends MessageRegistry, K extends keyof R['pushes']> = (
  body: z.output<R['pushes'][K]>,
  channel: Channel<R>,
) => void | Promise<void>;

interface Pending {
  type: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Typed messaging over one SecureSession. */
export class Channel<R extends MessageRegistry> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly requestHandlers = new Map<string, RequestHandler<R, keyof R['requests']>>();
  private readonly pushHandlers = new Map<string, PushHandler<R, keyof R['pushes']>>();
  private handling = 0;
  private readonly requestTimeoutMs: number;
  private readonly maxPending: number;
  private readonly maxHandlers: number;

  constructor(
    readonly session: SecureSession,
    readonly registry: R,
    private readonly options: ChannelOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxPending = options.maxPendingRequests ?? 256;
    this.maxHandlers = options.maxConcurrentHandlers ?? 64;
    session.onData = (body) => this.receive(body);
    void session.closed.then((err) => {
      const reason = err ?? new ChannelError('closed', 'channel closed');
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(reason);
      }
      this.pending.clear();
    });
  }

  /** Resolves when the session ends (null = normal close). */
  get closed(): Promise<ChannelError | null> {
    return this.session.closed;
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** Sends a request and resolves with the validated response body (or rejects with MessageError / ChannelError). */
  async request<K extends keyof R['requests'] & string>(
    type: K,
    body: z.input<Req<R, K>>,
  ): Promise<z.output<Res<R, K>>> {
    const spec = own(this.registry.requests, type);
    if (!spec) throw new MessageError('unknown_type', type);
    const checked = spec.request.safeParse(body);
    if (!checked.success) throw new MessageError('bad_request', checked.error.issues[0]?.message);
    if (this.pending.size >= this.maxPending) throw new MessageError('busy', 'too many outstanding requests');
    const reqId = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new MessageError('timeout', `${type} not answered in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(reqId, { type, resolve, reject, timer });
    });
    try {
      await this.send({ t: 'req', id: reqId, type, body });
    } catch (err) {
      const p = this.pending.get(reqId);
      if (p) clearTimeout(p.timer);
      this.pending.delete(reqId);
      result.catch(() => {});
      throw err;
    }
    return result as Promise<z.output<Res<R, K>>>;
  }

  onRequest<K extends keyof R['requests'] & string>(type: K, handler: RequestHandler<R, K>): void {
    if (!own(this.registry.requests, type)) throw new TypeError(`unknown request type ${type}`);
    this.requestHandlers.set(type, handler as RequestHandler<R, keyof R['requests']>);
  }

  /** Sends a one-way message (e.g. the server announcing a login challenge). */
  async push<K extends keyof R['pushes'] & string>(type: K, body: z.input<R['pushes'][K]>): Promise<void> {
    const schema = own(this.registry.pushes, type);
    if (!schema) throw new MessageError('unknown_type', type);
    const checked = schema.safeParse(body);
    if (!checked.success) throw new MessageError('bad_request', checked.error.issues[0]?.message);
    await this.send({ t: 'push', type, body });
  }

  onPush<K extends keyof R['pushes'] & string>(type: K, handler: PushHandler<R, K>): void {
    if (!own(this.registry.pushes, type)) throw new TypeError(`unknown push type ${type}`);
    this.pushHandlers.set(type, handler as PushHandler<R, keyof R['pushes']>);
  }

  private send(envelope: Envelope): Promise<void> {
    const bytes = utf8(JSON.stringify(envelope));
    return this.session.send(bytes);
  }

  private sendError(reqId: number | undefined, code: string, message?: string): void {
    const safe = errorCode.safeParse(code).success ? code : 'internal';
    const env: Envelope = { t: 'err', code: safe };
    if (reqId !== undefined) env.id = reqId;
    if (message) env.message = message.slice(0, 1024);
    this.send(env).catch(() => {});
  }

  private receive(bytes: Uint8Array): void {
    let env: Envelope;
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(fromUtf8(bytes)));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message);
      env = parsed.data;
    } catch (err) {
      void this.session.abort('malformed', `message envelope: ${(err as Error).message}`);
      return;
    }
    switch (env.t) {
      case 'req':
        this.handleRequest(env.id, env.type, env.body);
        return;
      case 'res':
      case 'err': {
        if (env.t === 'err' && env.id === undefined) {
          this.options.onError?.(new MessageError(env.code, env.message, true));
          return;
        }
        if (env.id === undefined) return;
        const p = this.pending.get(env.id);
        if (!p) return; // late answer to a request that timed out
        this.pending.delete(env.id);
        clearTimeout(p.timer);
        if (env.t === 'err') {
          p.reject(new MessageError(env.code, env.message, true));
          return;
        }
        const parsed = own(this.registry.requests, p.type)?.response.safeParse(env.body);
        if (parsed?.success) p.resolve(parsed.data);
        else p.reject(new MessageError('bad_response', parsed?.error.issues[0]?.message ?? p.type));
        return;
      }
      case 'push':
        this.handlePush(env.type, env.body);
        return;
    }
  }

  private handleRequest(reqId: number, type: string, body: unknown): void {
    const spec = own(this.registry.requests, type);
    if (!spec) {
      this.sendError(reqId, 'unknown_type', type);
      return;
    }
    const parsed = spec.request.safeParse(body);
    if (!parsed.success) {
      this.sendError(reqId, 'bad_request', parsed.error.issues[0]?.message);
      return;
    }
    const handler = this.requestHandlers.get(type);
    if (!handler) {
      this.sendError(reqId, 'unknown_type', `no handler for ${type}`);
      return;
    }
    if (this.handling >= this.maxHandlers) {
      this.sendError(reqId, 'busy');
      return;
    }
    this.handling++;
    Promise.resolve()
      .then(() => handler(parsed.data as z.output<Req<R, keyof R['requests']>>, this))
      .then(
        (response) => {
          const checked = spec.response.safeParse(response);
          if (!checked.success) {
            this.sendError(reqId, 'internal', 'handler returned an invalid response');
            return;
          }
          return this.send({ t: 'res', id: reqId, body: response }).catch(() => {});
        },
        (err: unknown) =>
          err instanceof MessageError
            ? this.sendError(reqId, err.code, err.message)
            : this.sendError(reqId, 'internal'),
      )
      .finally(() => {
        this.handling--;
      });
  }

  private handlePush(type: string, body: unknown): void {
    const schema = own(this.registry.pushes, type);
    if (!schema) {
      this.sendError(undefined, 'unknown_type', type);
      return;
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      this.sendError(undefined, 'bad_request', `${type}: ${parsed.error.issues[0]?.message}`);
      return;
    }
    const handler = this.pushHandlers.get(type);
    if (!handler) {
      this.sendError(undefined, 'unknown_type', `no handler for ${type}`);
      return;
    }
    Promise.resolve()
      .then(() => handler(parsed.data as z.output<R['pushes'][keyof R['pushes']]>, this))
      .catch(() => this.sendError(undefined, 'internal', `${type} handler failed`));
  }
}
