// Public face of the GeoIP module: the coarse location of a client address for the login challenge.

export { isLocalNetwork, parseIp } from './address.js';
export { type GeoIpDatabase, openGeoIpDatabase } from './database.js';
export { maxLocationLength, placeName } from './place-name.js';
export { createGeoIp, type GeoIp, localNetworkLabel, noGeoIp, openGeoIp } from './service.js';
