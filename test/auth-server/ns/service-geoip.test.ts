// createNsService hands ServiceDeps.geoip (the runtime's NEXTAUTH_GEOIP_DB lookup) to `/ns/mobile`: a phone
// that scans a login sees where the browser is; without it, only private addresses get a label.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { type GeoIp, openGeoIp } from '../../../auth-server/common/geoip/index.js';
import { MemoryKv } from '../../../auth-server/common/kv/memory.js';
import { createMetrics } from '../../../auth-server/common/metrics.js';
import { createNsService, type NsServiceInstance } from '../../../auth-server/ns/service.js';
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { Channel, connect, memoryTransportPair, signerFromKeyPair } from '../../../protocol/index.js';
import { nsMobileMessages } from '../../../protocol/mobile/ns.js';
import { parseEnrolUri } from '../../../protocol/mobile/uris.js';
import { captureLogs, london, testDatabase } from '../common/geoip/fixtures.js';
import { type FakeSfs, fakeSfs, newPhone, type Phone } from './mobile/fixtures.js';

describe('ns service: ServiceDeps.geoip reaches login.scan', () => {
  const publicUrl = 'https://id.example.test';
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let clock: FixedClock;
  let sfs: FakeSfs;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-geoip-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    clock = new FixedClock(Date.now());
    kv = new MemoryKv({ clock });
    sfs = await fakeSfs(clock);
  });
  after(async () => {
    await kv.close();
    await knex.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function nsWith(geoip: GeoIp | undefined): Promise<NsServiceInstance> {
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PUBLIC_URL: publicUrl,
        NEXTAUTH_SECRET_KEY: 'geoip-secret-key-0123456789',
      },
      { mode: 'embedded' },
    );
    const ns = createNsService({
      config,
      logger: captureLogs().logger,
      metrics: createMetrics({ defaults: false }),
      clock,
      random: systemRandom,
      kv,
      db: knex,
      peers: { sfs: sfs.peer },
      geoip,
    });
    await ns.start?.();
    return ns;
  }

  async function channel(ns: NsServiceInstance, fingerprint: string, phone: Phone | null) {
    const [client, server] = memoryTransportPair();
    ns.mobile?.accept(server, { ip: '198.51.100.7', userAgent: 'nextauth-test' });
    return new Channel(
      await connect(client, {
        target: { kind: 'ns', id: 'default' },
        server: { fingerprints: [fingerprint] },
        identity: phone ? await signerFromKeyPair(phone.keyPair) : null,
      }),
      nsMobileMessages,
    );
  }

  /** Enrols a phone on `default` and scans a login of a browser at `ip`: what the phone is shown. */
  async function scan(ns: NsServiceInstance, ip: string) {
    const link = parseEnrolUri(
      (await ns.accounts.createEnrolLink({ server: 'default', userid: 'alice' })).uri,
    );
    const phone = await newPhone();
    const bind = async (c: Channel<typeof nsMobileMessages>, purpose: 'enrol' | 'login') =>
      sfs.attest({
        aud: `${publicUrl}/ns/default`,
        sub: phone.instanceId,
        challenge: await attestationChallenge({
          serverId: `${publicUrl}/ns/default`,
          accountKeyThumbprint: phone.thumbprint,
          transcriptHash: c.session.info.transcriptHash,
          purpose,
        }),
      });
    const enrol = await channel(ns, link.fp, null);
    await enrol.request('enrol.begin', { token: link.t });
    await enrol.request('enrol.complete', {
      token: link.t,
      accountKey: phone.jwk,
      attestation: await bind(enrol, 'enrol'),
    });
    await enrol.close();
    const { nonce } = await ns.sessions.createSession({ server: 'default', userAgent: 'Firefox', ip });
    const { code } = await ns.sessions.currentLoginCode(nonce);
    const login = await channel(ns, link.fp, phone);
    try {
      return (await login.request('login.scan', { code })).browser;
    } finally {
      await login.close();
    }
  }

  it('with a database: "City, Country"', async () => {
    const geoip = openGeoIp('/data/GeoLite2-City.mmdb', {
      logger: captureLogs().logger,
      readFile: () => testDatabase(),
    });
    const ns = await nsWith(geoip);
    expect(await scan(ns, london.ip)).to.deep.equal({
      userAgent: 'Firefox',
      ip: london.ip,
      location: london.label,
    });
  });

  it('without one (NEXTAUTH_GEOIP_DB unset): null, and "local network" for a private address', async () => {
    const ns = await nsWith(undefined);
    expect((await scan(ns, london.ip)).location).to.equal(null);
    expect((await scan(ns, '192.168.1.20')).location).to.equal('local network');
  });
});
