// Opening NEXTAUTH_GEOIP_DB: a file from the test writer reads back through mmdb-lib at every record size,
// and every unusable file stops start-up with a ConfigError that names the variable.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Reader } from 'mmdb-lib';
import { ConfigError, loadConfig } from '../../../../auth-server/common/config/index.js';
import { openGeoIpDatabase, parseIp } from '../../../../auth-server/common/geoip/index.js';
import { cityRecord, writeMmdb } from '../../../helpers/mmdb-writer.js';
import { countryOnly, london, testDatabase, unknownIp } from './fixtures.js';

const ip = (text: string) => {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(text);
  return parsed;
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('common/geoip: the database file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-geoip-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const recordSize of [24, 28, 32] as const) {
    it(`the test writer's ${recordSize}-bit database reads back through mmdb-lib`, () => {
      const reader = new Reader(testDatabase({ recordSize }));
      expect(reader.metadata).to.deep.include({
        binaryFormatMajorVersion: 2,
        databaseType: 'GeoLite2-City',
        ipVersion: 6,
        recordSize,
      });
      expect(reader.get(london.ip)).to.deep.include({
        city: { geoname_id: 1, names: { en: 'London', de: 'London' } },
        country: { geoname_id: 2, iso_code: 'GB', names: { en: 'United Kingdom' } },
      });
      expect(reader.getWithPrefixLength('81.2.69.1')[1]).to.equal(24);
      expect(reader.get(countryOnly.ip)).to.deep.include({
        country: { geoname_id: 2, iso_code: 'DE', names: { en: 'Germany' } },
      });
      expect(reader.get(unknownIp)).to.equal(null);
      expect(reader.get('81.2.70.1')).to.equal(null);
    });
  }

  it('opens a file: type, build date and lookups (IPv4 through the ::/96 subtree)', async () => {
    const path = join(dir, 'city.mmdb');
    await writeFile(path, testDatabase({ buildEpoch: 1_767_225_600 }));
    const db = openGeoIpDatabase(path);
    expect(db.type).to.equal('GeoLite2-City');
    expect(db.builtAt?.toISOString()).to.equal('2026-01-01T00:00:00.000Z');
    expect(db.lookup(ip(london.ip))?.city?.names.en).to.equal('London');
    expect(db.lookup(ip(countryOnly.ip))?.country?.names.en).to.equal('Germany');
    expect(db.lookup(ip(unknownIp))).to.equal(null);
  });

  it('an IPv4-only database answers IPv4 and nothing for IPv6', () => {
    const bytes = writeMmdb({
      ipVersion: 4,
      databaseType: 'GeoIP2-Country',
      networks: [{ network: '81.2.69.0/24', data: cityRecord({ country: 'United Kingdom' }) }],
    });
    const db = openGeoIpDatabase('v4.mmdb', () => bytes);
    expect(db.lookup(ip(london.ip))?.country?.names.en).to.equal('United Kingdom');
    expect(db.lookup(ip(countryOnly.ip))).to.equal(null);
  });

  it('a missing file or a directory: NEXTAUTH_GEOIP_DB: <path>: cannot read the file (ENOENT|EISDIR)', () => {
    const missing = configError(() => openGeoIpDatabase(join(dir, 'nope.mmdb')));
    expect(missing.variable).to.equal('NEXTAUTH_GEOIP_DB');
    expect(missing.message).to.equal(
      `NEXTAUTH_GEOIP_DB: ${join(dir, 'nope.mmdb')}: cannot read the file (ENOENT)`,
    );
    expect(configError(() => openGeoIpDatabase(dir)).message).to.contain('(EISDIR)');
  });

  it('refuses files that are not MaxMind DB files, damaged ones and databases without place names', () => {
    const good = testDatabase();
    const markerAt = good.lastIndexOf(Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1'));
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /not a MaxMind DB file/],
      ['text', Buffer.from('GeoLite2-City.mmdb download page\n'), /not a MaxMind DB file/],
      [
        'legacy GeoIP .dat',
        Buffer.concat([Buffer.alloc(64, 1), Buffer.from([255, 255, 255, 1])]),
        /not a MaxMind DB file/,
      ],
      // The tree is cut away: the metadata promises more nodes than the file holds.
      ['truncated tree', Buffer.concat([good.subarray(0, 10), good.subarray(markerAt)]), /damaged/],
      [
        'metadata without a map',
        Buffer.concat([good.subarray(0, markerAt + 14), Buffer.from([0x42, 0x41, 0x42])]),
        /damaged/,
      ],
      [
        'ASN database',
        writeMmdb({
          databaseType: 'GeoLite2-ASN',
          networks: [{ network: '81.2.69.0/24', data: { autonomous_system_number: 64500 } }],
        }),
        /a GeoLite2-ASN database: expected a GeoIP2\/GeoLite2 City or Country database/,
      ],
    ];
    for (const [name, bytes, problem] of cases) {
      const err = configError(() => openGeoIpDatabase(`/data/${name}.mmdb`, () => bytes));
      expect(err.variable, name).to.equal('NEXTAUTH_GEOIP_DB');
      expect(err.message, name)
        .to.match(/^NEXTAUTH_GEOIP_DB: \/data\/.*\.mmdb: /)
        .and.match(problem);
      expect(err.message, name).to.not.contain('\n');
    }
  });

  it('a damaged data record on the probe path stops start-up too', () => {
    const bytes = writeMmdb({
      networks: [{ network: '1.1.1.0/24', data: cityRecord({ country: 'Australia' }) }],
    });
    // The record's first byte becomes extended type 0, which the format does not have.
    const nodeBytes = (new Reader(bytes).metadata.nodeCount * 28) / 4;
    bytes[nodeBytes + 16] = 0x00;
    bytes[nodeBytes + 17] = 0x00;
    expect(configError(() => openGeoIpDatabase('/data/broken.mmdb', () => bytes)).message).to.match(
      /^NEXTAUTH_GEOIP_DB: \/data\/broken\.mmdb: damaged MaxMind DB file/,
    );
  });

  it('config: NEXTAUTH_GEOIP_DB is optional and resolved to an absolute path', () => {
    expect(loadConfig({}, { mode: 'embedded' }).geoipDb).to.equal(undefined);
    expect(loadConfig({ NEXTAUTH_GEOIP_DB: 'geo/City.mmdb' }, { mode: 'embedded' }).geoipDb).to.equal(
      join(process.cwd(), 'geo/City.mmdb'),
    );
  });
});
