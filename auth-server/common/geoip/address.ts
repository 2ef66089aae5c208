// Client addresses as the GeoIP lookup needs them: validated, IPv4-mapped IPv6 unwrapped, and the ranges
// that never leave a site (loopback, private, link-local, CGNAT, ULA) recognised without a database.
import { isIP } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
  /** Canonical text: dotted quad, or eight hex groups (what the MMDB reader parses reliably). */
  text: string;
}

/** Longer than any IPv6 text with a zone id that a socket or X-Forwarded-For could give us. */
const maxInputLength = 100;

/** Parses an address as sockets and proxies write it; anything else (names, CIDRs, ports) is null. */
export function parseIp(input: unknown): IpAddress | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > maxInputLength) return null;
  // A zone id (`fe80::1%eth0`, RFC 4007 §11) says which interface, not where; it does not change the range.
  const address = input.includes(':') ? input.replace(/%[^%]*$/, '') : input;
  const family = isIP(address);
  if (family === 4) {
    const bytes = address.split('.').map(Number);
    return { family: 4, bytes, text: bytes.join('.') };
  }
  if (family !== 6) return null;
  const bytes = ipv6Bytes(address);
  // IPv4-mapped IPv6 (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is an IPv4 client on a dual-stack socket.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    const v4 = bytes.slice(12);
    return { family: 4, bytes: v4, text: v4.join('.') };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return { family: 6, bytes, text: groups.join(':') };
}

/** 16 bytes of an address that `isIP` accepted as IPv6 (so at most one `::`, an optional dotted tail). */
function ipv6Bytes(address: string): number[] {
  const hexOnly = address.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a: string, b: string, c: string, d: string) =>
      `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head = '', tail] = hexOnly.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

interface Range {
  family: 4 | 6;
  bytes: number[];
  bits: number;
}

function range(cidr: string): Range {
  const [address = '', bits = ''] = cidr.split('/');
  const ip = parseIp(address);
  if (!ip) throw new Error(`bad range ${cidr}`);
  return { family: ip.family, bytes: ip.bytes, bits: Number(bits) };
}

/** Addresses that only mean something inside a site: no database can place them, so they get a label. */
const localRanges: readonly Range[] = [
  '127.0.0.0/8', // loopback, RFC 1122 §3.2.1.3
  '10.0.0.0/8', // private, RFC 1918 §3
  '172.16.0.0/12', // private, RFC 1918 §3
  '192.168.0.0/16', // private, RFC 1918 §3
  '169.254.0.0/16', // link-local, RFC 3927 §2.1
  '100.64.0.0/10', // shared address space (carrier-grade NAT), RFC 6598 §7
  '::1/128', // loopback, RFC 4291 §2.5.3
  'fe80::/10', // link-local, RFC 4291 §2.5.6
  'fc00::/7', // unique local (ULA), RFC 4193 §3.1
].map(range);

function inRange(ip: IpAddress, r: Range): boolean {
  if (ip.family !== r.family) return false;
  const whole = r.bits >> 3;
  for (let i = 0; i < whole; i++) if (ip.bytes[i] !== r.bytes[i]) return false;
  const rest = r.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((ip.bytes[whole] ?? 0) & mask) === ((r.bytes[whole] ?? 0) & mask);
}

export function isLocalNetwork(ip: IpAddress): boolean {
  return localRanges.some((r) => inRange(ip, r));
}
