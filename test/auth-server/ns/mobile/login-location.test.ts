// `login.scan` carries the coarse location of the browser, looked up at scan time from the address the
// session was created with (NEXTAUTH_GEOIP_DB over a test .mmdb file); nothing about it is stored.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createGeoIp, openGeoIpDatabase } from '../../../../auth-server/common/geoip/index.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { countryOnly, london, testDatabase } from '../../common/geoip/fixtures.js';
import { browser, type MobileFixture, mobileFixture, type NsChannel } from './fixtures.js';

describeEachDatabase('ns mobile: browser location in login.scan', (db) => {
  let f: MobileFixture;
  let knex: Knex;
  let channel: NsChannel;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    const database = openGeoIpDatabase('/data/GeoLite2-City.mmdb', () => testDatabase());
    f = await mobileFixture(knex, { geoip: createGeoIp({ database }) });
    const { phone } = await f.enrol('alice');
    channel = await f.open({ phone });
  });
  afterEach(() => f.close());

  /** A browser session from `ip` on acme, scanned on the phone's channel. */
  async function scanFrom(ip: string) {
    const { nonce, session } = await f.sessions.createSession({ ...browser, ip });
    const { code } = await f.sessions.currentLoginCode(nonce);
    return { scanned: await channel.request('login.scan', { code }), sessionId: session.id };
  }

  it('"City, Country" for a browser in a city network', async () => {
    const { scanned } = await scanFrom(london.ip);
    expect(scanned.browser).to.deep.equal({
      userAgent: browser.userAgent,
      ip: london.ip,
      location: london.label,
    });
  });

  it('"Country" where the database has no city, and IPv6 browsers', async () => {
    expect((await scanFrom(countryOnly.ip)).scanned.browser.location).to.equal(countryOnly.label);
  });

  it('null for an address the database does not know (the fixture browser, 192.0.2.10)', async () => {
    expect((await scanFrom(browser.ip)).scanned.browser).to.deep.equal({
      userAgent: browser.userAgent,
      ip: browser.ip,
      location: null,
    });
  });

  it('"local network" for a browser on a private or loopback address, IPv4-mapped included', async () => {
    for (const ip of ['192.168.1.20', '::ffff:10.0.0.7', '::1'])
      expect((await scanFrom(ip)).scanned.browser.location, ip).to.equal('local network');
  });

  it('is computed at scan time and never stored with the session', async () => {
    const { scanned, sessionId } = await scanFrom(london.ip);
    expect(scanned.browser.location).to.equal(london.label);
    const row = await knex('ns_sessions').where({ id: sessionId }).first();
    expect(JSON.stringify(row)).to.not.contain('London');
  });
});
