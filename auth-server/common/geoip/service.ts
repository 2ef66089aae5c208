// The coarse location of a client address as the phone shows it at login: "City, Country", "Country",
// "local network" or null. Computed on demand from an address; nothing here stores or logs addresses.
import type { Logger } from '../logging.js';
import { isLocalNetwork, parseIp } from './address.js';
import { type GeoIpDatabase, openGeoIpDatabase } from './database.js';
import { placeName } from './place-name.js';

export const localNetworkLabel = 'local network';

export interface GeoIp {
  /** Never throws: a malformed or unknown address, or no database, gives null. */
  coarseLocation(ip: string | null | undefined): string | null;
}

export function createGeoIp(options: { database: GeoIpDatabase | null; logger?: Logger }): GeoIp {
  const { database, logger } = options;
  return {
    coarseLocation(input) {
      const ip = parseIp(input);
      if (!ip) return null;
      if (isLocalNetwork(ip)) return localNetworkLabel;
      if (!database) return null;
      try {
        const record = database.lookup(ip);
        return record ? placeName(record) : null;
      } catch (err) {
        // A damaged record: the login goes on without a location. The address stays out of the log.
        logger?.warn({ err, database: database.type }, 'geoip lookup failed');
        return null;
      }
    },
  };
}

/** No database configured: only the local-network label. */
export const noGeoIp: GeoIp = createGeoIp({ database: null });

/**
 * Opens `NEXTAUTH_GEOIP_DB` once at start (ConfigError naming it when the file is missing or unusable).
 * A new database file takes effect at the next start; instances can be restarted one by one.
 */
export function openGeoIp(
  path: string | undefined,
  options: { logger: Logger; readFile?: (path: string) => Buffer },
): GeoIp {
  if (path === undefined) return noGeoIp;
  const database = openGeoIpDatabase(path, options.readFile);
  options.logger.info(
    { database: database.type, builtAt: database.builtAt?.toISOString() ?? null },
    'geoip database loaded',
  );
  return createGeoIp({ database, logger: options.logger });
}
