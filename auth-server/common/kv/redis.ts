// Kv on Redis (ioredis) for distributed mode: atomic one-time reads, CAS and counters via GETDEL and Lua.
//
// Accepted URIs (parsed by `parseRedisUri`; credentials percent-encoded):
//   redis://[[user]:password@]host[:6379][/db]
//   rediss://[[user]:password@]host[:6379][/db]                                  (TLS)
//   redis+sentinel://[[user]:password@]host1[:26379][,host2[:26379]...]/masterName[?db=N]
//     [&sentinelUsername=u&sentinelPassword=p]
// For Sentinel the userinfo authenticates against the Redis master, the query parameters against the
// sentinels. IPv6 hosts go in brackets: [::1]:6379.
import { Redis, type RedisOptions } from 'ioredis';
import { assertTtlMs, type Kv, type SetOptions, type SubscribeOptions, type Unsubscribe } from './kv.js';
import { type HandlerErrorReporter, rethrowHandlerError } from './memory.js';

export interface RedisKvOptions {
  /** Prepended to every key and channel. */
  prefix?: string;
  /** How long `ping` waits before declaring the store unreachable. */
  pingTimeoutMs?: number;
  /** Connection errors (ioredis reconnects by itself); without a listener ioredis would print them. */
  onError?: (error: Error) => void;
  onHandlerError?: HandlerErrorReporter;
}

// KEYS[1]; ARGV: expectPresent ('1'/'0'), expected, next, ttlMs ('0' = keep the current TTL).
const compareAndSetLua = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
end
return 1
`;

// KEYS[1]; ARGV[1] = ttlMs. PTTL -1 (no expiry, e.g. written by SET) gets one too: windows must close.
const incrLua = `
local value = redis.call('INCR', KEYS[1])
if value == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return value
`;

// KEYS[1]; ARGV: ttlMs ('0' = no expiry), member. The expiry only grows (PTTL -1 = none, which stays).
const setAddLua = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[2])
if ARGV[1] == '0' then
  redis.call('PERSIST', KEYS[1])
  return 1
end
local pttl = redis.call('PTTL', KEYS[1])
if existed == 0 or (pttl >= 0 and pttl < tonumber(ARGV[1])) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`;

interface Scripts {
  kvCompareAndSet(
    key: string,
    expectPresent: string,
    expected: string,
    next: string,
    ttlMs: string,
  ): Promise<number>;
  kvIncr(key: string, ttlMs: string): Promise<number>;
  kvSetAdd(key: string, ttlMs: string, member: string): Promise<number>;
}

type ScriptedRedis = Redis & Scripts;

const schemes = ['redis:', 'rediss:', 'redis+sentinel:'] as const;

/** Turns a KV URI into ioredis options; pure, so the format is testable without a server. */
export function parseRedisUri(uri: string): RedisOptions {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(uri);
  // Never echo the URI: it may carry a password.
  if (!match) throw new Error('kv: malformed Redis URI (expected scheme://[user:password@]host...)');
  const [, rawScheme = '', userinfo, authority = '', path = '', query = ''] = match;
  const scheme = rawScheme.toLowerCase();
  if (!(schemes as readonly string[]).includes(scheme)) {
    throw new Error(
      `kv: unsupported URI scheme "${scheme}//" (expected ${schemes.map((s) => `${s}//`).join(', ')})`,
    );
  }
  const options: RedisOptions = { ...credentials(userinfo) };
  const params = new URLSearchParams(query);
  const sentinel = scheme === 'redis+sentinel:';
  const allowed = sentinel ? ['db', 'sentinelUsername', 'sentinelPassword'] : [];
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      throw new Error(
        `kv: unknown query parameter "${name}" for ${scheme}// (allowed: ${allowed.join(', ') || 'none'})`,
      );
    }
  }
  const hosts = authority === '' ? [] : authority.split(',').map((h) => hostPort(h, sentinel ? 26379 : 6379));
  if (hosts.length === 0) throw new Error(`kv: ${scheme}// URI names no host`);
  if (sentinel) {
    const name = decodeURIComponent(path.replace(/^\//, ''));
    if (name === '' || name.includes('/')) {
      throw new Error('kv: redis+sentinel:// URI needs the master name as its path: /mymaster');
    }
    options.sentinels = hosts;
    options.name = name;
    const db = params.get('db');
    if (db !== null) options.db = database(db);
    const sentinelUsername = params.get('sentinelUsername');
    const sentinelPassword = params.get('sentinelPassword');
    if (sentinelUsername !== null) options.sentinelUsername = sentinelUsername;
    if (sentinelPassword !== null) options.sentinelPassword = sentinelPassword;
    return options;
  }
  const [host] = hosts;
  if (hosts.length > 1 || host === undefined) throw new Error(`kv: ${scheme}// URI takes one host`);
  options.host = host.host;
  options.port = host.port;
  const db = path.replace(/^\//, '');
  if (db !== '') options.db = database(db);
  if (scheme === 'rediss:') options.tls = {};
  return options;
}

function credentials(userinfo: string | undefined): Pick<RedisOptions, 'username' | 'password'> {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
  return {
    ...(username !== '' && { username }),
    ...(password !== '' && { password }),
  };
}

function hostPort(text: string, defaultPort: number): { host: string; port: number } {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::([0-9]+))?$/i.exec(text);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined) throw new Error(`kv: invalid host "${text}" in Redis URI`);
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) throw new Error(`kv: invalid port in Redis URI host "${text}"`);
  return { host, port };
}

function database(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new Error(`kv: invalid Redis database "${text}" (expected a number)`);
  return Number(text);
}

export class RedisKv implements Kv {
  private readonly client: ScriptedRedis;
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  /** Per subscription: what to call once the subscriber connection is back after a drop. */
  private readonly resubscribed = new Map<(message: string) => void, () => void>();
  private readonly prefix: string;
  private readonly pingTimeoutMs: number;
  private readonly onError: (error: Error) => void;
  private readonly onHandlerError: HandlerErrorReporter;
  private closing: Promise<void> | undefined;
  /** Whether the command connection is up; undefined until the first attempt ends either way. */
  private connected: boolean | undefined;

  constructor(uriOrOptions: string | RedisOptions, options: RedisKvOptions = {}) {
    const redisOptions = typeof uriOrOptions === 'string' ? parseRedisUri(uriOrOptions) : uriOrOptions;
    this.prefix = options.prefix ?? '';
    this.pingTimeoutMs = options.pingTimeoutMs ?? 1000;
    this.onError = options.onError ?? (() => {});
    this.onHandlerError = options.onHandlerError ?? rethrowHandlerError;
    // Keys are prefixed here rather than with ioredis' keyPrefix, which would not cover pub/sub channels.
    const client = new Redis({ ...redisOptions, keyPrefix: undefined });
    client.on('error', (error: Error) => this.onError(error));
    client.on('ready', () => {
      this.connected = true;
    });
    client.on('close', () => {
      this.connected = false;
    });
    client.defineCommand('kvCompareAndSet', { lua: compareAndSetLua, numberOfKeys: 1 });
    client.defineCommand('kvIncr', { lua: incrLua, numberOfKeys: 1 });
    client.defineCommand('kvSetAdd', { lua: setAddLua, numberOfKeys: 1 });
    this.client = client as ScriptedRedis;
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const k = this.prefix + key;
    const { ttlMs, ifAbsent } = options;
    if (ttlMs !== undefined) assertTtlMs(ttlMs);
    let reply: string | null;
    if (ttlMs !== undefined && ifAbsent) reply = await this.client.set(k, value, 'PX', ttlMs, 'NX');
    else if (ttlMs !== undefined) reply = await this.client.set(k, value, 'PX', ttlMs);
    else if (ifAbsent) reply = await this.client.set(k, value, 'NX');
    else reply = await this.client.set(k, value);
    return reply === 'OK';
  }

  async getDel(key: string): Promise<string | null> {
    return this.client.getdel(this.prefix + key);
  }

  async del(key: string): Promise<boolean> {
    return (await this.client.del(this.prefix + key)) > 0;
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: { ttlMs?: number } = {},
  ): Promise<boolean> {
    if (options.ttlMs !== undefined) assertTtlMs(options.ttlMs);
    const swapped = await this.client.kvCompareAndSet(
      this.prefix + key,
      expected === null ? '0' : '1',
      expected ?? '',
      next,
      String(options.ttlMs ?? 0),
    );
    return swapped === 1;
  }

  async incr(key: string, options: { ttlMs: number }): Promise<number> {
    assertTtlMs(options.ttlMs);
    return this.client.kvIncr(this.prefix + key, String(options.ttlMs));
  }

  async setAdd(key: string, member: string, options: { ttlMs?: number } = {}): Promise<void> {
    if (options.ttlMs !== undefined) assertTtlMs(options.ttlMs);
    await this.client.kvSetAdd(this.prefix + key, String(options.ttlMs ?? 0), member);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.client.smembers(this.prefix + key);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.prefix + channel, message);
  }

  async subscribe(
    channel: string,
    handler: (message: string) => void,
    options: SubscribeOptions = {},
  ): Promise<Unsubscribe> {
    if (this.closing) throw new Error('kv: closed');
    const full = this.prefix + channel;
    const subscriber = this.subscriberConnection();
    let handlers = this.handlers.get(full);
    // The map and the SUBSCRIBE/UNSUBSCRIBE commands change together (no await in between) and one
    // connection runs commands in order, so the server's subscriptions always follow the map.
    const first = handlers === undefined;
    if (handlers === undefined) {
      handlers = new Set();
      this.handlers.set(full, handlers);
    }
    // A wrapper per call, so the same function subscribed twice can be unsubscribed twice.
    const wrapped = (message: string) => handler(message);
    handlers.add(wrapped);
    if (options.onResubscribed) this.resubscribed.set(wrapped, options.onResubscribed);
    try {
      // Later subscribers still wait for the channel's SUBSCRIBE reply: commands on one connection answer in order.
      await (first ? subscriber.subscribe(full) : subscriber.ping());
    } catch (error) {
      await this.unsubscribe(full, wrapped);
      throw error;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await this.unsubscribe(full, wrapped);
    };
  }

  async ping(): Promise<void> {
    // Known to be down (also between reconnect attempts): fail at once instead of queueing a PING.
    if (this.connected === false || this.client.status === 'end') {
      throw new Error(`kv: Redis unreachable (connection ${this.client.status})`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`kv: Redis did not answer PING within ${this.pingTimeoutMs} ms`)),
        this.pingTimeoutMs,
      );
    });
    try {
      await Promise.race([this.client.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closing ??= Promise.all([this.client, this.subscriber].map((c) => c && quit(c))).then(() => {
      this.handlers.clear();
    });
    return this.closing;
  }

  private subscriberConnection(): Redis {
    if (this.subscriber === undefined) {
      // A connection of its own: in RESP2 a subscribed connection can run nothing else, and a long
      // Lua script or slow command must not hold up message delivery.
      const subscriber = this.client.duplicate();
      subscriber.on('error', (error: Error) => this.onError(error));
      subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
      // Messages published while the connection was down are lost (pub/sub keeps nothing): once ioredis
      // has subscribed again, tell every subscription so it can re-read what it follows from storage.
      let dropped = false;
      subscriber.on('close', () => {
        dropped = true;
      });
      subscriber.on('ready', () => {
        if (!dropped) return;
        dropped = false;
        // ioredis sends the SUBSCRIBEs right after 'ready'; PING is answered after them, in order.
        subscriber.ping().then(
          () => this.announceResubscribed(),
          (error: Error) => this.onError(error),
        );
      });
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  private announceResubscribed(): void {
    for (const [wrapped, callback] of [...this.resubscribed]) {
      if (!this.resubscribed.has(wrapped)) continue;
      try {
        callback();
      } catch (error) {
        this.onHandlerError(error, 'resubscribed');
      }
    }
  }

  private dispatch(channel: string, message: string): void {
    const handlers = this.handlers.get(channel);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch (error) {
        // Thrown into ioredis' reply parser it would break the connection; report it instead.
        this.onHandlerError(error, channel.slice(this.prefix.length));
      }
    }
  }

  private async unsubscribe(full: string, handler: (message: string) => void): Promise<void> {
    const handlers = this.handlers.get(full);
    this.resubscribed.delete(handler);
    if (handlers === undefined || !handlers.delete(handler)) return;
    if (handlers.size > 0) return;
    this.handlers.delete(full);
    const subscriber = this.subscriber;
    if (subscriber !== undefined && subscriber.status !== 'end') await subscriber.unsubscribe(full);
  }
}

/** QUIT waits for pending replies; when the server is gone it would not return, so disconnect instead. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
