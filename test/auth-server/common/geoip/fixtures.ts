// A small GeoIP2 City database written by test/helpers/mmdb-writer.ts: one city, one country-only network.
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../../../auth-server/common/logging.js';
import { cityRecord, type MmdbNetwork, writeMmdb } from '../../../helpers/mmdb-writer.js';

export const london = { network: '81.2.69.0/24', ip: '81.2.69.160', label: 'London, United Kingdom' };
export const countryOnly = { network: '2001:db8::/32', ip: '2001:db8::1', label: 'Germany' };
/** In no network of the test database. */
export const unknownIp = '8.8.8.8';

export const testNetworks: MmdbNetwork[] = [
  { network: london.network, data: cityRecord({ city: 'London', country: 'United Kingdom', isoCode: 'GB' }) },
  { network: countryOnly.network, data: cityRecord({ country: 'Germany', isoCode: 'DE' }) },
];

export function testDatabase(options: Partial<Parameters<typeof writeMmdb>[0]> = {}): Buffer {
  return writeMmdb({ networks: testNetworks, ...options });
}

/** A debug-level JSON logger whose lines the test can read. */
export function captureLogs(): { logger: Logger; lines(): Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return {
    logger: createLogger({ level: 'debug', format: 'json', destination: stream }),
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
