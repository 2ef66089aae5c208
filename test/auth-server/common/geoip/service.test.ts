// coarseLocation(ip) over a real .mmdb file: "City, Country", "Country", null for what the file does not
// know, "local network" for site-local ranges with or without a database, and never a throw.
import { expect } from 'chai';
import { Reader } from 'mmdb-lib';
import {
  createGeoIp,
  type GeoIp,
  localNetworkLabel,
  maxLocationLength,
  noGeoIp,
  openGeoIp,
  openGeoIpDatabase,
} from '../../../../auth-server/common/geoip/index.js';
import { cityRecord, writeMmdb } from '../../../helpers/mmdb-writer.js';
import { captureLogs, countryOnly, london, testDatabase, testNetworks, unknownIp } from './fixtures.js';

const localAddresses = ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.0.10', '169.254.1.1', '100.64.1.1'];
const localV6 = ['::1', 'fe80::1%eth0', 'fd00::1', '::ffff:192.168.0.10', '::ffff:127.0.0.1'];

describe('common/geoip: coarseLocation', () => {
  let geoip: GeoIp;
  before(() => {
    geoip = openGeoIp('/data/City.mmdb', { logger: captureLogs().logger, readFile: () => testDatabase() });
  });

  it('"City, Country" in English where the database has a city', () => {
    expect(geoip.coarseLocation(london.ip)).to.equal(london.label);
    expect(geoip.coarseLocation('81.2.69.1')).to.equal(london.label);
  });

  it('IPv4-mapped IPv6 looks up the IPv4 address', () => {
    expect(geoip.coarseLocation(`::ffff:${london.ip}`)).to.equal(london.label);
  });

  it('"Country" where the database has no city', () => {
    expect(geoip.coarseLocation(countryOnly.ip)).to.equal(countryOnly.label);
    expect(geoip.coarseLocation('2001:db8:ffff::42')).to.equal(countryOnly.label);
  });

  it('null for an address the database does not know', () => {
    for (const ip of [unknownIp, '81.2.70.1', '2001:db9::1', '2606:4700::1111'])
      expect(geoip.coarseLocation(ip), ip).to.equal(null);
  });

  it('"local network" for loopback, private, link-local, CGNAT and ULA addresses, v4, v6 and v4-mapped', () => {
    for (const ip of [...localAddresses, ...localV6])
      expect(geoip.coarseLocation(ip), ip).to.equal(localNetworkLabel);
  });

  it('null, never a throw, for what is not an address', () => {
    for (const bad of [
      '',
      'not-an-ip',
      '81.2.69.999',
      '81.2.69.0/24',
      '[::1]:443',
      'x'.repeat(10_000),
      null,
      undefined,
    ])
      expect(geoip.coarseLocation(bad), String(bad)).to.equal(null);
    expect(geoip.coarseLocation(42 as unknown as string)).to.equal(null);
  });

  it('without a database: only "local network", everything else null', () => {
    for (const g of [noGeoIp, openGeoIp(undefined, { logger: captureLogs().logger })]) {
      expect(g.coarseLocation(london.ip)).to.equal(null);
      expect(g.coarseLocation(countryOnly.ip)).to.equal(null);
      expect(g.coarseLocation('garbage')).to.equal(null);
      for (const ip of [...localAddresses, ...localV6])
        expect(g.coarseLocation(ip), ip).to.equal(localNetworkLabel);
    }
  });

  it('a local range wins over what a database says about it', () => {
    const bytes = writeMmdb({
      networks: [
        ...testNetworks,
        { network: '10.0.0.0/8', data: cityRecord({ city: 'Nowhere', country: 'Atlantis' }) },
      ],
    });
    const g = createGeoIp({ database: openGeoIpDatabase('x.mmdb', () => bytes) });
    expect(g.coarseLocation('10.1.2.3')).to.equal(localNetworkLabel);
  });

  it('caps at 120 characters and strips control and bidi characters from names', () => {
    const bytes = writeMmdb({
      networks: [
        {
          network: '81.2.69.0/24',
          data: cityRecord({ city: 'C'.repeat(100), country: 'Very Long Country Name' }),
        },
        {
          network: '2001:db8::/32',
          data: cityRecord({ city: ' Lon\u202Edon\n', country: 'United\tKingdom\u0000' }),
        },
        { network: '198.51.100.0/24', data: cityRecord({ city: '😀'.repeat(70) }) },
        {
          network: '203.0.113.0/24',
          data: { city: { names: { en: 42 } }, country: { names: { de: 'Deutschland' } } },
        },
      ],
    });
    const g = createGeoIp({ database: openGeoIpDatabase('x.mmdb', () => bytes) });
    const long = g.coarseLocation(london.ip);
    expect(long).to.have.lengthOf(maxLocationLength);
    expect(long).to.match(/^C{100}, Very Long Country…$/);
    expect(g.coarseLocation(countryOnly.ip)).to.equal('London, United Kingdom');
    // Surrogate pairs are never cut in half.
    const emoji = g.coarseLocation('198.51.100.1') ?? '';
    expect(emoji.length).to.be.at.most(maxLocationLength);
    expect(emoji).to.equal(`${'😀'.repeat(59)}…`);
    // No English names of the right type: nothing to show.
    expect(g.coarseLocation('203.0.113.9')).to.equal(null);
  });

  it('a damaged record gives null and a warning that leaves the address out', () => {
    const bytes = writeMmdb({ networks: testNetworks });
    const reader = new Reader(bytes);
    const offset = (reader.metadata.nodeCount * 28) / 4 + 16;
    // The first network's record (London) starts the data section: make its type byte invalid.
    bytes[offset] = 0x00;
    bytes[offset + 1] = 0x00;
    const logs = captureLogs();
    const g = openGeoIp('/data/City.mmdb', { logger: logs.logger, readFile: () => bytes });
    expect(g.coarseLocation(london.ip)).to.equal(null);
    expect(g.coarseLocation(countryOnly.ip)).to.equal(countryOnly.label);
    const text = JSON.stringify(logs.lines());
    expect(text).to.contain('geoip lookup failed');
    expect(text).to.not.contain('81.2.69');
  });

  it('logs the database at start without addresses', () => {
    const logs = captureLogs();
    openGeoIp('/data/City.mmdb', { logger: logs.logger, readFile: () => testDatabase() }).coarseLocation(
      london.ip,
    );
    const [line, ...rest] = logs.lines();
    expect(rest).to.deep.equal([]);
    expect(line).to.include({ level: 30, msg: 'geoip database loaded', database: 'GeoLite2-City' });
  });
});
