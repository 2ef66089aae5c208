// The one HTTP client for calls NS and the IdP make to other parties (webhooks, back-channel logout, CIBA
// ping, metadata URLs), DESIGN.md §6: only public addresses plus the NEXTAUTH_OUTBOUND_ALLOW hosts/CIDRs,
// checked on the address actually connected to (so DNS rebinding cannot swap it), no redirects, a deadline
// and a cap on what is read back.
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { parseIp } from '../geoip/address.js';

export type OutboundErrorCode =
  | 'invalid_url'
  | 'https_required'
  | 'forbidden_address'
  | 'dns_failed'
  | 'timeout'
  | 'response_too_large'
  | 'network';

/** A call that was refused before it left, or that failed on the way; the message names no secret. */
export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundOptions {
  /** Hostnames (exact, case-insensitive) and CIDRs / single addresses allowed besides public addresses. */
  allow: readonly string[];
  /** Whole call, connect to last byte (default 10 s). */
  timeoutMs?: number;
  /** Response bodies longer than this fail the call (default 64 KiB). */
  maxResponseBytes?: number;
  /** DNS (default: the system resolver, every address). Tests inject names. */
  resolve?: Resolver;
}

export interface OutboundRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OutboundClient {
  /**
   * Checks a URL as a target (scheme, no credentials, and — with `requireHttps` — https unless its host is
   * allow-listed), resolves it and checks every address; throws OutboundError. For validating stored URLs.
   */
  checkUrl(url: string, options?: { requireHttps?: boolean }): Promise<URL>;
  /** Whether the URL's host is named by the allow-list (hostname or an address in an allowed CIDR). */
  isAllowListed(url: URL): boolean;
  /**
   * One request without following redirects (a 3xx is returned as it is). Throws OutboundError when the
   * target is not allowed, DNS fails, the deadline passes or the body exceeds the cap.
   */
  request(url: string, request?: OutboundRequest): Promise<OutboundResponse>;
}

/** Ranges that are not the public internet (IANA special-purpose registries, RFC 6890). */
const nonPublic = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", RFC 791
  ['10.0.0.0', 8], // private, RFC 1918
  ['100.64.0.0', 10], // shared address space (CGNAT), RFC 6598
  ['127.0.0.0', 8], // loopback, RFC 1122
  ['169.254.0.0', 16], // link-local, RFC 3927 (cloud metadata endpoints live here)
  ['172.16.0.0', 12], // private, RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments, RFC 6890
  ['192.0.2.0', 24], // documentation, RFC 5737
  ['192.88.99.0', 24], // 6to4 relay anycast, RFC 7526
  ['192.168.0.0', 16], // private, RFC 1918
  ['198.18.0.0', 15], // benchmarking, RFC 2544
  ['198.51.100.0', 24], // documentation, RFC 5737
  ['203.0.113.0', 24], // documentation, RFC 5737
  ['224.0.0.0', 4], // multicast, RFC 5771
  ['240.0.0.0', 4], // reserved and broadcast, RFC 1112
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback, RFC 4291
  ['64:ff9b::', 96], // NAT64 could reach any IPv4 address behind it, RFC 6052
  ['64:ff9b:1::', 48], // local-use NAT64, RFC 8215
  ['100::', 64], // discard, RFC 6666
  ['2001:db8::', 32], // documentation, RFC 3849
  ['2002::', 16], // 6to4 embeds an IPv4 address (possibly a private one), RFC 3056
  ['fc00::', 7], // unique local, RFC 4193
  ['fe80::', 10], // link-local, RFC 4291
  ['ff00::', 8], // multicast, RFC 4291
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv6');
}

/** The address in canonical form (IPv4-mapped IPv6 as IPv4), or null when it is not an address. */
function canonical(address: string): ResolvedAddress | null {
  const ip = parseIp(address);
  if (!ip) return null;
  // BlockList wants IPv6 in text it can parse: the eight groups parseIp writes are fine.
  return { address: ip.text, family: ip.family };
}

export function isPublicAddress(address: string): boolean {
  const ip = canonical(address);
  if (!ip) return false;
  return !nonPublic.check(ip.address, ip.family === 4 ? 'ipv4' : 'ipv6');
}

/** Splits NEXTAUTH_OUTBOUND_ALLOW entries into hostnames and address ranges; a malformed CIDR throws. */
function parseAllowList(entries: readonly string[]): { hosts: Set<string>; ranges: BlockList } {
  const hosts = new Set<string>();
  const ranges = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address = '', bits, extra] = entry.split('/');
    const ip = canonical(address.replace(/^\[|\]$/g, ''));
    if (ip && extra === undefined) {
      const type = ip.family === 4 ? 'ipv4' : 'ipv6';
      const max = ip.family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
        throw new RangeError(`outbound allow-list: bad prefix in ${entry}`);
      ranges.addSubnet(ip.address, prefix, type);
    } else if (bits === undefined && /^[a-z0-9.-]{1,253}$/i.test(entry)) {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new RangeError(`outbound allow-list: ${entry} is neither a host nor a CIDR`);
    }
  }
  return { hosts, ranges };
}

const systemResolver: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** URL hostnames of IPv6 literals come in brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function createOutboundClient(options: OutboundOptions): OutboundClient {
  const { hosts, ranges } = parseAllowList(options.allow);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  const resolve = options.resolve ?? systemResolver;

  const addressAllowed = (address: string): boolean => {
    const ip = canonical(address);
    if (!ip) return false;
    return ranges.check(ip.address, ip.family === 4 ? 'ipv4' : 'ipv6') || isPublicAddress(ip.address);
  };

  const hostAllowListed = (url: URL): boolean => {
    const host = bareHost(url);
    if (hosts.has(host)) return true;
    const ip = canonical(host);
    return ip !== null && ranges.check(ip.address, ip.family === 4 ? 'ipv4' : 'ipv6');
  };

  const parse = (input: string): URL => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new OutboundError('invalid_url', 'not an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new OutboundError('invalid_url', 'only http and https URLs');
    // Credentials in a URL end up in logs and listings; a receiver authenticates us by signature instead.
    if (url.username !== '' || url.password !== '')
      throw new OutboundError('invalid_url', 'URLs must not carry credentials');
    return url;
  };

  /** The addresses to connect to, every one checked; a host named by the allow-list may be anything. */
  const addressesOf = async (url: URL): Promise<ResolvedAddress[]> => {
    const host = bareHost(url);
    const literal = isIP(host) !== 0 ? canonical(host) : null;
    let found: ResolvedAddress[];
    if (literal) found = [literal];
    else {
      try {
        found = await resolve(host);
      } catch {
        throw new OutboundError('dns_failed', `${host} does not resolve`);
      }
      if (found.length === 0) throw new OutboundError('dns_failed', `${host} does not resolve`);
    }
    if (hosts.has(host)) return found;
    // All, not any: a name that also resolves to an internal address is refused rather than raced.
    if (!found.every((a) => addressAllowed(a.address)))
      throw new OutboundError('forbidden_address', `${host} resolves to an address that is not allowed`);
    return found;
  };

  return {
    isAllowListed: hostAllowListed,

    async checkUrl(input, checkOptions = {}) {
      const url = parse(input);
      if (checkOptions.requireHttps && url.protocol !== 'https:' && !hostAllowListed(url))
        throw new OutboundError('https_required', 'https is required unless the host is allow-listed');
      await addressesOf(url);
      return url;
    },

    async request(input, req = {}) {
      const url = parse(input);
      const addresses = await addressesOf(url);
      const [first] = addresses;
      if (!first) throw new OutboundError('dns_failed', 'no address');
      // The checked address is the one connected to: the socket never resolves the name again.
      const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
        if (lookupOptions.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      return new Promise<OutboundResponse>((resolvePromise, reject) => {
        let settled = false;
        const fail = (err: OutboundError) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          outgoing.destroy();
          reject(err);
        };
        const outgoing = send(
          url,
          {
            method: req.method ?? (body ? 'POST' : 'GET'),
            headers: {
              ...req.headers,
              ...(body ? { 'content-length': String(body.length) } : {}),
            },
            lookup: pinned,
            agent: false,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > maxResponseBytes) {
                res.destroy();
                fail(new OutboundError('response_too_large', `response exceeds ${maxResponseBytes} bytes`));
                return;
              }
              chunks.push(chunk);
            });
            res.on('error', () => fail(new OutboundError('network', 'response aborted')));
            res.on('end', () => {
              if (settled) return;
              settled = true;
              clearTimeout(deadline);
              resolvePromise({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(chunks),
              });
            });
          },
        );
        const deadline = setTimeout(
          () => fail(new OutboundError('timeout', `no complete answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        deadline.unref();
        outgoing.on('error', (err: NodeJS.ErrnoException) =>
          fail(new OutboundError('network', `request failed (${err.code ?? 'error'})`)),
        );
        outgoing.end(body);
      });
    },
  };
}
