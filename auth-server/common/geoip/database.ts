// Opens a MaxMind DB file (GeoIP2/GeoLite2 City or Country) once, checking enough of it that a wrong or
// damaged file stops start-up with one line naming NEXTAUTH_GEOIP_DB instead of failing at a login.
import { readFileSync } from 'node:fs';
import { type CityResponse, Reader } from 'mmdb-lib';
import { ConfigError } from '../config/load.js';
import { settings } from '../config/schema.js';
import { type IpAddress, parseIp } from './address.js';

export interface GeoIpDatabase {
  /** `database_type` from the metadata, e.g. `GeoLite2-City`. */
  type: string;
  /** `build_epoch`; null when the file does not say. */
  builtAt: Date | null;
  /** The record of the network that holds `ip`, or null; may throw on a damaged data section. */
  lookup(ip: IpAddress): CityResponse | null;
}

/** Start of the metadata section (MaxMind DB spec, "Database Metadata"). */
const metadataMarker = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');

export function openGeoIpDatabase(
  path: string,
  readFile: (path: string) => Buffer = (p) => readFileSync(p),
): GeoIpDatabase {
  const bad = (problem: string) => new ConfigError(settings.geoipDb.env, `${path}: ${problem}`);
  let bytes: Buffer;
  try {
    bytes = readFile(path);
  } catch (err) {
    throw bad(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const markerAt = bytes.lastIndexOf(metadataMarker);
  if (markerAt < 0) throw bad('not a MaxMind DB file (no metadata section)');
  let reader: Reader<CityResponse>;
  try {
    reader = new Reader<CityResponse>(bytes);
  } catch (err) {
    throw bad(`damaged MaxMind DB file (${(err as Error).message})`);
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2) throw bad('unsupported MaxMind DB format version (expected 2)');
  if (
    (m.ipVersion !== 4 && m.ipVersion !== 6) ||
    !Number.isSafeInteger(m.nodeCount) ||
    m.nodeCount <= 0 ||
    m.searchTreeSize + 16 > markerAt
  ) {
    throw bad('damaged MaxMind DB file (search tree does not fit the file)');
  }
  const type = typeof m.databaseType === 'string' ? m.databaseType : '';
  // ASN, ISP or anonymous-IP databases share the format but carry no place names.
  if (!/city|country/i.test(type))
    throw bad(`a ${type || 'untyped'} database: expected a GeoIP2/GeoLite2 City or Country database`);
  const lookup = (ip: IpAddress): CityResponse | null => {
    // An IPv4-only database has no answer for IPv6 (its tree is 32 levels deep).
    if (ip.family === 6 && m.ipVersion === 4) return null;
    const record: unknown = reader.get(ip.text);
    return record !== null && typeof record === 'object' ? (record as CityResponse) : null;
  };
  // A damaged tree or data section shows here at start rather than at the first login.
  try {
    for (const probe of ['1.1.1.1', '2001:db8::1']) {
      const ip = parseIp(probe);
      if (ip) lookup(ip);
    }
  } catch (err) {
    throw bad(`damaged MaxMind DB file (${(err as Error).message})`);
  }
  const builtAt = m.buildEpoch instanceof Date && !Number.isNaN(m.buildEpoch.getTime()) ? m.buildEpoch : null;
  return { type, builtAt, lookup };
}
