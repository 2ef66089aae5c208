// MC push configuration: NEXTAUTH_MC_FCM_* / NEXTAUTH_MC_APNS_* are checked together at start with one clear
// line per problem (secrets never echoed), and a configured MC service pushes through them to the fakes.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { ConfigError, loadConfig } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../../auth-server/common/kv/index.js';
import { createMetrics } from '../../../auth-server/common/metrics.js';
import { createMcService } from '../../../auth-server/mc/service.js';
import { publicKeyToJwk } from '../../../protocol/index.js';
import { type ApnsFake, startApnsFake } from '../../fakes/apns.js';
import { type FcmFake, startFcmFake } from '../../fakes/fcm.js';
import { logger, newDevice, postTo, secretKey } from './harness.js';

const embedded = { mode: 'embedded' as const };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const p8 = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

const serviceAccount = () =>
  JSON.stringify({
    type: 'service_account',
    project_id: 'demo-project',
    client_email: 'push@demo-project.iam.gserviceaccount.com',
    private_key: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  });

const apnsEnv = () => ({
  NEXTAUTH_MC_APNS_KEY: p8(),
  NEXTAUTH_MC_APNS_KEY_ID: 'ABC123DEFG',
  NEXTAUTH_MC_APNS_TEAM_ID: 'TEAM123456',
  NEXTAUTH_MC_APNS_TOPIC: 'org.example.app',
});

describe('config: MC push providers', () => {
  it('none configured: no senders', () => {
    expect(loadConfig({}, embedded).mcPush).to.deep.equal({});
  });

  it('reads the FCM service account, also from NEXTAUTH_MC_FCM_CREDENTIALS_FILE', () => {
    const json = serviceAccount();
    const direct = loadConfig({ NEXTAUTH_MC_FCM_CREDENTIALS: json }, embedded).mcPush.fcm;
    expect(direct?.serviceAccount.project_id).to.equal('demo-project');
    const fromFile = loadConfig(
      { NEXTAUTH_MC_FCM_CREDENTIALS_FILE: '/secrets/fcm.json' },
      {
        ...embedded,
        readFile: (path) => {
          expect(path).to.equal('/secrets/fcm.json');
          return `${json}\n`;
        },
      },
    ).mcPush.fcm;
    expect(fromFile).to.deep.equal(direct);
  });

  it('refuses credentials that are not a service-account JSON, without echoing them', () => {
    for (const [value, problem] of [
      ['{not json', 'expected the JSON of a Firebase service-account key file'],
      [
        JSON.stringify({ client_email: 'a@b', private_key: '-----BEGIN PRIVATE KEY-----' }),
        'project_id is missing',
      ],
      [
        JSON.stringify({ project_id: 'p', client_email: 'a@b', private_key: 'hunter2' }),
        'private_key is not a PEM',
      ],
      [
        JSON.stringify({ type: 'authorized_user', project_id: 'p', client_email: 'a', private_key: '' }),
        'service_account',
      ],
    ] as const) {
      const err = configError(() => loadConfig({ NEXTAUTH_MC_FCM_CREDENTIALS: value }, embedded));
      expect(err.variable).to.equal('NEXTAUTH_MC_FCM_CREDENTIALS');
      expect(err.message).to.contain(problem);
      expect(err.message).not.to.contain('hunter2').and.not.to.contain('{not json');
    }
  });

  it('reads APNs token auth; production follows NEXTAUTH_ENV unless set', () => {
    const env = apnsEnv();
    const dev = loadConfig(env, embedded).mcPush.apns;
    expect(dev).to.deep.equal({
      key: env.NEXTAUTH_MC_APNS_KEY,
      keyId: 'ABC123DEFG',
      teamId: 'TEAM123456',
      topic: 'org.example.app',
      production: false,
    });
    expect(loadConfig({ ...env, NEXTAUTH_ENV: 'production' }, embedded).mcPush.apns?.production).to.equal(
      true,
    );
    expect(
      loadConfig({ ...env, NEXTAUTH_ENV: 'production', NEXTAUTH_MC_APNS_PRODUCTION: 'false' }, embedded)
        .mcPush.apns?.production,
    ).to.equal(false);
  });

  it('names the missing APNs setting when only some are given', () => {
    const { NEXTAUTH_MC_APNS_TEAM_ID: _, ...partial } = apnsEnv();
    const err = configError(() => loadConfig(partial, embedded));
    expect(err.variable).to.equal('NEXTAUTH_MC_APNS_TEAM_ID');
    expect(err.message).to.contain('APNs needs the key, key id, team id and topic');
  });

  it('refuses an APNs key that is not an EC P-256 .p8, and malformed ids and topics', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    for (const [variable, value] of [
      ['NEXTAUTH_MC_APNS_KEY', rsa],
      ['NEXTAUTH_MC_APNS_KEY', 'not a key'],
      ['NEXTAUTH_MC_APNS_KEY_ID', 'abc'],
      ['NEXTAUTH_MC_APNS_TEAM_ID', 'team 12345'],
      ['NEXTAUTH_MC_APNS_TOPIC', 'org/example'],
    ] as const) {
      const err = configError(() => loadConfig({ ...apnsEnv(), [variable]: value }, embedded));
      expect(err.variable).to.equal(variable);
      if (variable === 'NEXTAUTH_MC_APNS_KEY') expect(err.message).not.to.contain(value);
    }
  });

  it('refuses the test endpoints in production and without their provider', () => {
    const fcm = { NEXTAUTH_MC_FCM_CREDENTIALS: serviceAccount() };
    expect(
      configError(() =>
        loadConfig(
          { ...fcm, NEXTAUTH_ENV: 'production', NEXTAUTH_MC_FCM_TEST_ENDPOINT: '127.0.0.1:8443' },
          embedded,
        ),
      ).message,
    ).to.equal('NEXTAUTH_MC_FCM_TEST_ENDPOINT: test only: not allowed in production');
    expect(
      configError(() => loadConfig({ NEXTAUTH_MC_APNS_TEST_ENDPOINT: '127.0.0.1:8443' }, embedded)).variable,
    ).to.equal('NEXTAUTH_MC_APNS_TEST_ENDPOINT');
    expect(
      configError(() => loadConfig({ ...fcm, NEXTAUTH_MC_FCM_TEST_ENDPOINT: 'localhost' }, embedded)).message,
    ).to.contain('expected host:port');
  });
});

describe('mc service: push configured through NEXTAUTH_MC_*', () => {
  let fcm: FcmFake;
  let apns: ApnsFake;
  let dir: string;

  before(async () => {
    fcm = await startFcmFake();
    apns = await startApnsFake();
    dir = await mkdtemp(join(tmpdir(), 'nextauth-mc-push-config-'));
  });
  after(async () => {
    await fcm?.close();
    await apns?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a posted message through FCM and APNs to the test endpoints', async () => {
    const files = { fcm: join(dir, 'fcm.json'), p8: join(dir, 'AuthKey.p8'), ca: join(dir, 'ca.pem') };
    await writeFile(files.fcm, JSON.stringify(fcm.serviceAccount));
    await writeFile(files.p8, apns.key);
    // Both fakes come from their own CA; one NEXTAUTH_MC_PUSH_TEST_CA file may hold several.
    await writeFile(files.ca, `${fcm.ca}\n${apns.ca}`);
    const config = loadConfig(
      {
        NEXTAUTH_SECRET_KEY: secretKey,
        NEXTAUTH_MC_FCM_CREDENTIALS_FILE: files.fcm,
        NEXTAUTH_MC_FCM_TEST_ENDPOINT: `127.0.0.1:${fcm.endpoint.port}`,
        NEXTAUTH_MC_APNS_KEY_FILE: files.p8,
        NEXTAUTH_MC_APNS_KEY_ID: apns.keyId,
        NEXTAUTH_MC_APNS_TEAM_ID: apns.teamId,
        NEXTAUTH_MC_APNS_TOPIC: apns.topic,
        NEXTAUTH_MC_APNS_TEST_ENDPOINT: `127.0.0.1:${apns.port}`,
        NEXTAUTH_MC_PUSH_TEST_CA_FILE: files.ca,
      },
      embedded,
    );
    const db = openDb({ dataDir: dir, service: 'mc' });
    await migrateLatest(db, 'mc');
    const clock = new FixedClock(Date.now());
    const kv = new MemoryKv({ clock });
    const metrics = createMetrics({ defaults: false });
    const service = createMcService({
      config,
      logger,
      metrics,
      clock,
      random: systemRandom,
      kv,
      db,
      peers: {},
    });
    try {
      await service.start?.();
      const peer = service.provides?.mc ?? expect.fail('no MC peer');
      const ids: string[] = [];
      for (const push of [
        { provider: 'fcm', token: 'fcm-config-token' },
        { provider: 'apns', token: 'c0ffee' },
      ] as const) {
        const device = await newDevice();
        const { id } = await service.api.instances.register({
          publicJwk: publicKeyToJwk(device.signer.publicKey),
          encryptionKey: device.encryptionJwk,
          push,
        });
        ids.push((await postTo(peer, id, 'hello', { expiresAt: clock.now() + 60_000 })).id);
      }
      await service.api.push?.idle();
      expect(fcm.received.map((r) => r.message.data?.mc_id)).to.deep.equal([ids[0]]);
      expect(apns.received.map((r) => r.payload.mc_id)).to.deep.equal([ids[1]]);
      expect(await metrics.registry.getSingleMetricAsString('nextauth_mc_pushes_sent_total')).to.contain(
        'provider="apns"} 1',
      );
    } finally {
      await service.close?.();
      await kv.close();
      await db.destroy();
    }
  });
});
