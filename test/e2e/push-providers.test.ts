// Push login through the providers' wire protocols: the runtime's MC sends to local FCM and APNs fakes
// (firebase-admin and node-apn as in production, only the endpoint and CA overridden), one phone registered
// with an FCM token, another with an APNs token. provokeLogin → the fake receives a content-free
// notification (ids and ciphertext only) → the phone pulls, types the number and approves → the browser is
// logged in. A token the provider disowns is dropped at the MC and pull still works. Runs embedded (SQLite,
// in-memory KV) and on PostgreSQL + Redis (skipped without them, failing under CI=true).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { loadConfig } from '../../auth-server/common/config/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../idp/runtime/runtime.js';
import { probeDatabase } from '../auth-server/common/db/databases.js';
import { deleteKeys, probeRedis } from '../auth-server/common/kv/redis-service.js';
import { type ApnsFake, startApnsFake } from '../fakes/apns.js';
import { type FcmFake, startFcmFake } from '../fakes/fcm.js';
import { browserSession, enrolPhone, newPhone, type Phone, sessionStatus } from '../helpers/device.js';
import { freePort } from '../helpers/http.js';
import { requireService } from '../helpers/services.js';

const rootKey = 'push-providers-root-key-0123456789abcdef';

/** Waits for what the MC does in the background (the push after the post); fails after a generous bound. */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** What the phone, the browser and the operator must never see leave in a provider request. */
function expectNoPii(wire: string, ...secrets: string[]): void {
  for (const s of secrets) expect(wire, `provider request contains ${s}`).to.not.include(s);
}

for (const kind of ['embedded', 'postgres+redis'] as const) {
  describe(`e2e: push login through the FCM and APNs fakes [${kind}]`, function () {
    this.timeout(180_000);
    let fcm: FcmFake;
    let apns: ApnsFake;
    let dataDir: string;
    let runtime: Runtime;
    let url: string;
    let android: Phone;
    let iphone: Phone;
    const fcmToken = `fcm-${randomBytes(24).toString('base64url')}`;
    const apnsToken = randomBytes(32).toString('hex');
    let cleanup: () => Promise<void> = async () => {};

    const ns = () => runtime.dbs.ns as Knex;
    const mc = () => runtime.dbs.mc as Knex;

    async function push(nonce: string, userid: string) {
      const res = await fetch(`${url}/ns/api/v2/session/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-apikey': rootKey, 'x-nonce': nonce },
        body: JSON.stringify({ userid }),
      });
      expect(res.status, await res.clone().text()).to.equal(200);
      return (await res.json()) as { match: number; requests: { id: string }[] };
    }

    /** The MC's row of the user's app instance (where NS sends the account's pushes). */
    async function instanceOf(
      userid: string,
    ): Promise<{ id: string; push_provider: string; sealed: string }> {
      const account = (await ns()('ns_accounts').where({ userid }).first()) as {
        push_key_thumbprint: string;
      };
      const row = (await mc()('mc_app_instances')
        .where({ key_thumbprint: account.push_key_thumbprint })
        .first()) as { id: string; push_provider: string; sealed_push_token: string | null };
      return { id: row.id, push_provider: row.push_provider, sealed: row.sealed_push_token ?? '' };
    }

    /** Approves the one pending request with the browser's number; the browser is then logged in. */
    async function approve(phone: Phone, b: { cookie: string }, pushed: { match: number }, userid: string) {
      const pending = await phone.pending();
      expect(pending.map((p) => p.id)).to.have.length(1);
      await phone.ok('approve', pending[0]?.id ?? '', '--match', String(pushed.match), '--pin', '1234');
      expect(await sessionStatus(url, b.cookie)).to.deep.include({ loggedin: true, userid });
    }

    before(async function () {
      const env: Record<string, string> = {};
      if (kind === 'postgres+redis') {
        const pg = await requireService(this, 'postgres', probeDatabase);
        const redis = await requireService(this, 'redis', probeRedis);
        const suffix = randomBytes(4).toString('hex');
        const dbName = `nextauth_push3_${suffix}`;
        const kvPrefix = `push3-${suffix}:`;
        const admin = knexFactory({ client: 'pg', connection: pg, pool: { min: 0, max: 1 } });
        await admin.raw(`create database ${dbName}`);
        const db = new URL(pg);
        db.pathname = `/${dbName}`;
        for (const svc of ['NS', 'SFS', 'MC']) env[`NEXTAUTH_${svc}_DB_URI`] = db.toString();
        env.NEXTAUTH_KV_URI = redis;
        env.NEXTAUTH_KV_PREFIX = kvPrefix;
        cleanup = async () => {
          await admin.raw(`drop database if exists ${dbName} with (force)`);
          await admin.destroy();
          await deleteKeys(redis, kvPrefix);
        };
      }
      fcm = await startFcmFake();
      apns = await startApnsFake();
      dataDir = await mkdtemp(join(tmpdir(), 'nextauth-push-providers-'));
      const [port, adminPort] = [await freePort(), await freePort()];
      url = `http://127.0.0.1:${port}`;
      const config = loadConfig(
        {
          ...env,
          NEXTAUTH_DATA_DIR: dataDir,
          NEXTAUTH_PORT: String(port),
          NEXTAUTH_ADMIN_PORT: String(adminPort),
          NEXTAUTH_HOST: '127.0.0.1',
          NEXTAUTH_PUBLIC_URL: url,
          NEXTAUTH_NS_ROOT_API_KEY: rootKey,
          NEXTAUTH_MC_FCM_CREDENTIALS: JSON.stringify(fcm.serviceAccount),
          NEXTAUTH_MC_FCM_TEST_ENDPOINT: `${fcm.endpoint.host}:${fcm.endpoint.port}`,
          NEXTAUTH_MC_APNS_KEY: apns.key,
          NEXTAUTH_MC_APNS_KEY_ID: apns.keyId,
          NEXTAUTH_MC_APNS_TEAM_ID: apns.teamId,
          NEXTAUTH_MC_APNS_TOPIC: apns.topic,
          NEXTAUTH_MC_APNS_TEST_ENDPOINT: `${apns.address}:${apns.port}`,
          // One setting for both fakes' CAs: a PEM bundle.
          NEXTAUTH_MC_PUSH_TEST_CA: `${fcm.ca}\n${apns.ca}`,
        },
        { mode: 'embedded' },
      );
      runtime = await startRuntime({
        config,
        logger: createLogger({ level: 'silent', format: 'json' }),
        services: ['sfs', 'mc', 'ns'],
      });
      android = await newPhone({ pushToken: `fcm:${fcmToken}` });
      iphone = await newPhone({ pushToken: `apns:${apnsToken}` });
      await enrolPhone(android, { url, rootKey, userid: 'fran' });
      await enrolPhone(iphone, { url, rootKey, userid: 'abe' });
      expect(await instanceOf('fran')).to.include({ push_provider: 'fcm' });
      expect(await instanceOf('abe')).to.include({ push_provider: 'apns' });
    });

    after(async () => {
      await runtime?.close();
      await fcm?.close();
      await apns?.close();
      await android?.remove();
      await iphone?.remove();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      await cleanup();
    });

    it('FCM: a content-free, high-priority data message with the bearer token; pull and approve log in', async () => {
      const b = await browserSession(url);
      const pushed = await push(b.nonce, 'fran');
      const id = pushed.requests[0]?.id ?? '';
      await until('the FCM fake receives the push', () => fcm.received.length === 1);
      expect(fcm.rejected).to.deep.equal([]);
      // The fake checked the OAuth assertion of the service account and the bearer token it issued.
      expect(fcm.tokensIssued).to.be.at.least(1);
      const [{ project, message } = { project: '', message: { token: '' } }] = fcm.received;
      expect(project).to.equal(fcm.serviceAccount.project_id);
      expect(message.token).to.equal(fcmToken);
      // No `notification`: nothing is shown by the OS from the provider's copy; the app opens the message.
      expect(Object.keys(message).sort()).to.deep.equal(['android', 'data', 'token']);
      expect(Object.keys(message.data ?? {}).sort()).to.deep.equal(['kind', 'mc_id', 'mc_sealed']);
      expect(message.data).to.include({ kind: 'nextauth', mc_id: id });
      // The sealed message is exactly what the mailbox holds: ciphertext for the app instance only.
      const stored = (await mc()('mc_messages').where({ id }).first()) as { sealed: string } | undefined;
      expect(message.data?.mc_sealed).to.equal(stored?.sealed);
      expect(message.data?.mc_sealed).to.match(/^nxm1\./);
      expect(message.android).to.include({ priority: 'high', collapse_key: id });
      // Random values (token, ids, ciphertext) are left out: a short name could occur in them by chance.
      const { token: _token, data, ...rest } = message;
      expectNoPii(JSON.stringify({ ...rest, data: { kind: data?.kind } }), 'fran', '127.0.0.1', 'default');
      await approve(android, b, pushed, 'fran');
    });

    it('APNs: an alert with a localisation key, mutable content, the topic and a provider token; pull and approve log in', async () => {
      const b = await browserSession(url);
      const pushed = await push(b.nonce, 'abe');
      const id = pushed.requests[0]?.id ?? '';
      await until('the APNs fake receives the push', () => apns.received.length === 1);
      expect(apns.rejected).to.deep.equal([]);
      const [got] = apns.received;
      expect(got?.token).to.equal(apnsToken);
      // The fake verified the ES256 provider token (key id, team id) before accepting.
      expect(got?.headers).to.include({
        'apns-topic': apns.topic,
        'apns-push-type': 'alert',
        'apns-priority': '10',
      });
      expect(got?.headers['apns-collapse-id']).to.equal(id);
      expect(got?.payload.aps).to.deep.equal({
        alert: { body: '', 'loc-key': 'NEXTAUTH_MC_MESSAGE' },
        'mutable-content': 1,
      });
      expect(got?.payload).to.include({ kind: 'nextauth', mc_id: id });
      const stored = (await mc()('mc_messages').where({ id }).first()) as { sealed: string } | undefined;
      expect(got?.payload.mc_sealed).to.equal(stored?.sealed);
      const {
        'apns-id': _apnsId,
        'apns-collapse-id': _collapse,
        'apns-expiration': _expiration,
        ...headers
      } = got?.headers ?? {};
      const { mc_id: _mcId, mc_sealed: _sealed, ...payload } = got?.payload ?? {};
      expectNoPii(JSON.stringify({ headers, payload }), 'abe', '127.0.0.1', 'default');
      await approve(iphone, b, pushed, 'abe');
    });

    it('FCM answers UNREGISTERED: the MC drops the token, the message waits, pull still logs in', async () => {
      fcm.unregistered.add(fcmToken);
      try {
        const before = fcm.received.length;
        const b = await browserSession(url);
        const pushed = await push(b.nonce, 'fran');
        await until(
          'the MC drops the FCM token',
          async () => (await instanceOf('fran')).push_provider === 'none',
        );
        expect((await instanceOf('fran')).sealed).to.equal('');
        expect(fcm.received).to.have.length(before);
        expect(fcm.rejected).to.deep.equal([]);
        // The phone pulls (registering its token again, as an app does at each start) and answers.
        await approve(android, b, pushed, 'fran');
        expect(await instanceOf('fran')).to.include({ push_provider: 'fcm' });
      } finally {
        fcm.unregistered.delete(fcmToken);
      }
    });

    it('APNs answers BadDeviceToken: the MC drops the token, the message waits, pull still logs in', async () => {
      apns.failNext({ status: 400, reason: 'BadDeviceToken' });
      const before = apns.received.length;
      const b = await browserSession(url);
      const pushed = await push(b.nonce, 'abe');
      await until(
        'the MC drops the APNs token',
        async () => (await instanceOf('abe')).push_provider === 'none',
      );
      expect(apns.received).to.have.length(before);
      expect(apns.rejected).to.deep.equal([]);
      await approve(iphone, b, pushed, 'abe');
      expect(await instanceOf('abe')).to.include({ push_provider: 'apns' });
    });
  });
}
