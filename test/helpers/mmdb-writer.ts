// A tiny MaxMind DB writer for tests (no GeoLite2 file or network here): a binary search tree with 24-,
// 28- or 32-bit records, the 16-byte separator, a data section and the metadata map, after the MaxMind DB
// File Format Specification v2.0. IPv6 databases keep IPv4 networks at ::/96, as MaxMind's own do.
import { isIP } from 'node:net';

/** A value with an explicit MaxMind DB type where the default (numbers → uint32/double) is not wanted. */
export interface Typed {
  readonly mmdbType: 'uint16' | 'uint32' | 'uint64' | 'int32' | 'double';
  readonly value: number | bigint;
}

export type MmdbValue = string | number | boolean | Typed | MmdbValue[] | { [key: string]: MmdbValue };

export const uint16 = (value: number): Typed => ({ mmdbType: 'uint16', value });
export const uint64 = (value: number | bigint): Typed => ({ mmdbType: 'uint64', value });

export interface MmdbNetwork {
  /** CIDR, e.g. `81.2.69.0/24` or `2001:db8::/32` (IPv4 only in an IPv4 database). */
  network: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  networks: MmdbNetwork[];
  databaseType?: string;
  ipVersion?: 4 | 6;
  recordSize?: 24 | 28 | 32;
  languages?: string[];
  /** Seconds since the epoch. */
  buildEpoch?: number;
}

// Data section types (spec: "Output Data Section"): 1–7 in the control byte, 8+ as "extended" types.
const type = {
  pointer: 1,
  string: 2,
  double: 3,
  bytes: 4,
  uint16: 5,
  uint32: 6,
  map: 7,
  int32: 8,
  uint64: 9,
  array: 11,
  boolean: 14,
} as const;

/** Control byte(s): 3 type bits and 5 size bits, extended type byte, then 0–3 size extension bytes. */
function control(t: number, size: number): number[] {
  const extended = t > 7;
  let first = (extended ? 0 : t) << 5;
  const sizeBytes: number[] = [];
  if (size < 29) {
    first |= size;
  } else if (size < 285) {
    first |= 29;
    sizeBytes.push(size - 29);
  } else if (size < 65821) {
    first |= 30;
    const v = size - 285;
    sizeBytes.push(v >> 8, v & 0xff);
  } else {
    first |= 31;
    const v = size - 65821;
    sizeBytes.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  }
  return extended ? [first, t - 7, ...sizeBytes] : [first, ...sizeBytes];
}

/** Big-endian, without leading zero bytes (a zero is zero bytes long). */
function unsignedBytes(value: number | bigint, maxBytes: number): number[] {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(maxBytes * 8))
    throw new RangeError(`${value} does not fit ${maxBytes} bytes`);
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

function encodeTyped(typed: Typed): number[] {
  switch (typed.mmdbType) {
    case 'uint16': {
      const b = unsignedBytes(typed.value, 2);
      return [...control(type.uint16, b.length), ...b];
    }
    case 'uint32': {
      const b = unsignedBytes(typed.value, 4);
      return [...control(type.uint32, b.length), ...b];
    }
    case 'uint64': {
      const b = unsignedBytes(typed.value, 8);
      return [...control(type.uint64, b.length), ...b];
    }
    case 'int32': {
      const buf = Buffer.alloc(4);
      buf.writeInt32BE(Number(typed.value));
      return [...control(type.int32, 4), ...buf];
    }
    case 'double': {
      const buf = Buffer.alloc(8);
      buf.writeDoubleBE(Number(typed.value));
      return [...control(type.double, 8), ...buf];
    }
  }
}

export function encodeValue(value: MmdbValue): number[] {
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    return [...control(type.string, b.length), ...b];
  }
  if (typeof value === 'boolean') return control(type.boolean, value ? 1 : 0);
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff)
      return encodeTyped({ mmdbType: 'uint32', value });
    if (Number.isInteger(value) && value >= -0x80000000 && value < 0)
      return encodeTyped({ mmdbType: 'int32', value });
    return encodeTyped({ mmdbType: 'double', value });
  }
  if (Array.isArray(value)) return [...control(type.array, value.length), ...value.flatMap(encodeValue)];
  if ('mmdbType' in value && 'value' in value) return encodeTyped(value as Typed);
  const entries = Object.entries(value);
  return [
    ...control(type.map, entries.length),
    ...entries.flatMap(([k, v]) => [...encodeValue(k), ...encodeValue(v)]),
  ];
}

/** Address bits of a CIDR in the tree's address space (IPv4 at ::/96 in an IPv6 tree). */
function networkBits(cidr: string, ipVersion: 4 | 6): (0 | 1)[] {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText);
  const family = isIP(address);
  let bytes: number[];
  if (family === 4) {
    bytes = address.split('.').map(Number);
    if (ipVersion === 6) bytes = [...Array<number>(12).fill(0), ...bytes];
  } else if (family === 6 && ipVersion === 6) {
    const [head = '', tail = ''] = address.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
    bytes = groups.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]);
  } else {
    throw new Error(`cannot place ${cidr} in an IPv${ipVersion} database`);
  }
  const length = (family === 4 && ipVersion === 6 ? 96 : 0) + prefix;
  const bits: (0 | 1)[] = [];
  for (let i = 0; i < length; i++) bits.push(((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1 ? 1 : 0);
  return bits;
}

type Record_ = { node: number } | { data: number } | null;

/** Builds the whole file: tree, separator, data section, metadata marker and metadata. */
export function writeMmdb(options: MmdbOptions): Buffer {
  const ipVersion = options.ipVersion ?? 6;
  const recordSize = options.recordSize ?? 28;
  const nodes: [Record_, Record_][] = [[null, null]];
  const data: number[] = [];
  for (const { network, data: record } of options.networks) {
    const bits = networkBits(network, ipVersion);
    if (bits.length === 0) throw new Error('a /0 network has no record in the tree');
    const offset = data.length;
    data.push(...encodeValue(record));
    let node = 0;
    bits.forEach((bit, depth) => {
      const current = nodes[node] as [Record_, Record_];
      if (depth === bits.length - 1) {
        if (current[bit] !== null) throw new Error(`${network} overlaps another network`);
        current[bit] = { data: offset };
        return;
      }
      const next = current[bit];
      if (next !== null && 'data' in next) throw new Error(`${network} lies inside another network`);
      if (next === null) {
        nodes.push([null, null]);
        current[bit] = { node: nodes.length - 1 };
      }
      node = (current[bit] as { node: number }).node;
    });
  }
  const nodeCount = nodes.length;
  // A record is a node number, node_count ("no data") or node_count + 16 + offset into the data section.
  const recordValue = (r: Record_) =>
    r === null ? nodeCount : 'node' in r ? r.node : nodeCount + 16 + r.data;
  const tree = Buffer.alloc((nodeCount * recordSize) / 4);
  nodes.forEach(([left, right], i) => {
    const l = recordValue(left);
    const r = recordValue(right);
    if (Math.max(l, r) >= 2 ** recordSize) throw new RangeError('database too large for the record size');
    const at = (i * recordSize) / 4;
    if (recordSize === 24) {
      tree.writeUIntBE(l, at, 3);
      tree.writeUIntBE(r, at + 3, 3);
    } else if (recordSize === 28) {
      // The middle byte holds the top nibble of each record: left's high, right's low.
      tree.writeUIntBE(l & 0xffffff, at, 3);
      tree[at + 3] = (((l >>> 24) & 0x0f) << 4) | ((r >>> 24) & 0x0f);
      tree.writeUIntBE(r & 0xffffff, at + 4, 3);
    } else {
      tree.writeUInt32BE(l, at);
      tree.writeUInt32BE(r, at + 4);
    }
  });
  const metadata = encodeValue({
    node_count: { mmdbType: 'uint32', value: nodeCount },
    record_size: uint16(recordSize),
    ip_version: uint16(ipVersion),
    database_type: options.databaseType ?? 'GeoLite2-City',
    languages: options.languages ?? ['en'],
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(options.buildEpoch ?? 1_767_225_600),
    description: { en: 'nextAuth test database' },
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    Buffer.from(data),
    Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1'),
    Buffer.from(metadata),
  ]);
}

/** A GeoIP2 City-shaped record (the fields GeoLite2 has; geoname ids are placeholders nobody reads). */
export function cityRecord(input: { city?: string; country?: string; isoCode?: string }): MmdbValue {
  const record: { [key: string]: MmdbValue } = {};
  if (input.city !== undefined) record.city = { geoname_id: 1, names: { en: input.city, de: input.city } };
  if (input.country !== undefined)
    record.country = { geoname_id: 2, iso_code: input.isoCode ?? 'XX', names: { en: input.country } };
  record.location = { accuracy_radius: uint16(100), latitude: 51.5142, longitude: -0.0931 };
  return record;
}
