// MC push over FCM and APNs against local fakes that speak the real wire protocols: messages posted through
// McPeer.post reach the provider with only ids and ciphertext, refused tokens are cleared, transient failures
// are retried, and whatever happens to the push the message stays in the mailbox and pullable. Runs on
// SQLite with the memory KV, and on PostgreSQL with Redis.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { type Kv, MemoryKv, MemoryStore, RedisKv } from '../../../auth-server/common/kv/index.js';
import type { McPeer } from '../../../auth-server/common/peers.js';
import { createMcPeer } from '../../../auth-server/mc/peer.js';
import { createApnsSender } from '../../../auth-server/mc/push/apns.js';
import { createPushDispatcher } from '../../../auth-server/mc/push/dispatcher.js';
import { createFcmSender } from '../../../auth-server/mc/push/fcm.js';
import { createMcPushMetrics, type McPushMetrics } from '../../../auth-server/mc/push/metrics.js';
import { maxInlineSealedBytes, type PushSender } from '../../../auth-server/mc/push/sender.js';
import { createMcApi, type McApi } from '../../../auth-server/mc/service.js';
import { publicKeyToJwk } from '../../../protocol/index.js';
import { type ApnsFake, startApnsFake } from '../../fakes/apns.js';
import { type FcmFake, startFcmFake } from '../../fakes/fcm.js';
import { requireService } from '../../helpers/services.js';
import { probeDatabase } from '../common/db/databases.js';
import { deleteKeys, probeRedis } from '../common/kv/redis-service.js';
import { logger, newDevice, openOn, postTo, secretKey } from './harness.js';

const minute = 60_000;
const plaintext = JSON.stringify({ type: 'login', match: '42', browser: 'Firefox on Linux' });

interface Storage {
  knex: Knex;
  kv: Kv;
  close(): Promise<void>;
}

/** SQLite + memory KV always; PostgreSQL + Redis when configured (required in CI). */
const backends: { name: string; open(ctx: Mocha.Context, clock: FixedClock): Promise<Storage> }[] = [
  {
    name: 'sqlite, memory KV',
    async open(_ctx, clock) {
      const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-mc-push-'));
      const knex = openDb({ dataDir, service: 'mc' });
      await migrateLatest(knex, 'mc');
      const store = new MemoryStore({ clock });
      const kv = new MemoryKv({ store, prefix: 'mc-push-test:' });
      return {
        knex,
        kv,
        async close() {
          await kv.close();
          await store.close();
          await knex.destroy();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres, redis',
    async open(ctx, _clock) {
      const pgUri = await requireService(ctx, 'postgres', probeDatabase);
      const redisUri = await requireService(ctx, 'redis', probeRedis);
      const name = `nextauth_t_${randomBytes(6).toString('hex')}`;
      const admin = openDb({ uri: pgUri, dataDir: tmpdir(), service: 'mc', pool: { max: 1 } });
      await admin.raw(`create database "${name}"`);
      const url = new URL(pgUri);
      url.pathname = `/${name}`;
      const knex = openDb({ uri: url.toString(), dataDir: tmpdir(), service: 'mc', pool: { max: 5 } });
      await migrateLatest(knex, 'mc');
      const prefix = `nextauth-mc-push-test-${randomBytes(4).toString('hex')}:`;
      const kv = new RedisKv(redisUri, { prefix });
      return {
        knex,
        kv,
        async close() {
          await kv.close();
          await knex.destroy();
          try {
            await admin.raw(`drop database if exists "${name}"`);
          } finally {
            await admin.destroy();
          }
          await deleteKeys(redisUri, prefix);
        },
      };
    },
  },
];

function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  return (async () => {
    const metric = registry.getSingleMetric(name);
    if (!metric) return 0;
    const { values } = await metric.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((n, v) => n + v.value, 0);
  })();
}

/** How many delivery latencies the histogram holds for `provider`. */
async function deliveries(registry: Registry, provider: string): Promise<number> {
  const metric = registry.getSingleMetric('nextauth_mc_push_delivery_seconds');
  const { values } = (await metric?.get()) ?? { values: [] };
  return (
    values.find(
      (v) =>
        (v as { metricName?: string }).metricName === 'nextauth_mc_push_delivery_seconds_count' &&
        v.labels.provider === provider,
    )?.value ?? 0
  );
}

for (const backend of backends) {
  describe(`mc/push: FCM and APNs delivery [${backend.name}]`, () => {
    let storage: Storage | undefined;
    let fcm: FcmFake;
    let apns: ApnsFake;
    const clock = new FixedClock(Date.now());

    before(async function () {
      storage = await backend.open(this, clock);
      fcm = await startFcmFake();
      apns = await startApnsFake();
    });
    after(async () => {
      await fcm?.close();
      await apns?.close();
      await storage?.close();
    });

    let api: McApi;
    let peer: McPeer;
    let registry: Registry;
    let metrics: McPushMetrics;

    const fcmSender = (endpoint = fcm.endpoint) =>
      createFcmSender({ serviceAccount: fcm.serviceAccount, clock, endpoint: { ...endpoint, ca: fcm.ca } });
    const apnsSender = (port = apns.port) =>
      createApnsSender({
        key: apns.key,
        keyId: apns.keyId,
        teamId: apns.teamId,
        topic: apns.topic,
        production: false,
        endpoint: { host: apns.address, port, ca: apns.ca },
      });

    function start(senders: Partial<Record<'fcm' | 'apns', PushSender>>) {
      if (!storage) throw new Error('no storage');
      registry = new Registry();
      metrics = createMcPushMetrics(registry);
      api = createMcApi({
        db: storage.knex,
        kv: storage.kv,
        clock,
        random: systemRandom,
        publicUrl: 'https://idp.example',
        secretKey,
        push: (instances) =>
          createPushDispatcher({
            instances,
            senders,
            clock,
            logger,
            metrics,
            // Back-off without waiting: the policy is what is tested, not the clock.
            sleep: async () => {},
          }),
      });
      peer = createMcPeer(api);
    }

    beforeEach(() => {
      fcm.received.length = 0;
      apns.received.length = 0;
      start({ fcm: fcmSender(), apns: apnsSender() });
    });
    afterEach(async () => {
      await api.push?.close();
      expect(fcm.rejected, 'requests the FCM fake refused').to.deep.equal([]);
      expect(apns.rejected, 'requests the APNs fake refused').to.deep.equal([]);
    });

    async function instance(push: { provider: 'fcm' | 'apns'; token: string } | { provider: 'none' }) {
      const device = await newDevice();
      const registered = await api.instances.register({
        publicJwk: publicKeyToJwk(device.signer.publicKey),
        encryptionKey: device.encryptionJwk,
        push,
      });
      return { device, instanceId: registered.id };
    }

    async function post(instanceId: string, options: { collapseId?: string; text?: string } = {}) {
      const expiresAt = clock.now() + 5 * minute;
      const { id, sealed } = await postTo(peer, instanceId, options.text ?? plaintext, {
        expiresAt,
        ...(options.collapseId ? { collapseId: options.collapseId } : {}),
      });
      await api.push?.idle();
      return { id, sealed, expiresAt };
    }

    async function stillPullable(instanceId: string, id: string) {
      const { messages } = await api.mailbox.pull(instanceId);
      expect(messages.map((m) => m.id)).to.include(id);
    }

    describe('FCM', () => {
      it('delivers a high-priority data message with the id and the sealed message, never the plaintext', async () => {
        const { device, instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-1' });
        const { id, sealed, expiresAt } = await post(instanceId, { collapseId: 'login-1' });
        expect(fcm.received).to.have.length(1);
        const { message, project } = fcm.received[0] ?? expect.fail('nothing received');
        expect(project).to.equal(fcm.serviceAccount.project_id);
        expect(message.token).to.equal('fcm-token-1');
        expect(message.data).to.deep.equal({ kind: 'nextauth', mc_id: id, mc_sealed: sealed });
        expect(message.android).to.deep.equal({
          priority: 'high',
          ttl: `${(expiresAt - clock.now()) / 1000}s`,
          collapse_key: 'login-1',
        });
        expect(JSON.stringify(message)).not.to.contain('42').and.not.to.contain('Firefox');
        // What the provider carried opens on the device, and only there.
        expect(await openOn(device, instanceId, message.data?.mc_sealed ?? '', clock.now())).to.equal(
          plaintext,
        );
        expect(await counter(registry, 'nextauth_mc_pushes_sent_total', { provider: 'fcm' })).to.equal(1);
        expect(await deliveries(registry, 'fcm')).to.equal(1);
        expect(fcm.tokensIssued).to.be.greaterThan(0);
        await stillPullable(instanceId, id);
      });

      it('sends only the id (content-free) when the sealed message does not fit the 4 KiB data limit', async () => {
        const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-2' });
        const { id, sealed } = await post(instanceId, { text: 'x'.repeat(maxInlineSealedBytes) });
        expect(sealed.length).to.be.greaterThan(maxInlineSealedBytes);
        expect(fcm.received[0]?.message.data).to.deep.equal({ kind: 'nextauth', mc_id: id });
        expect(fcm.received[0]?.message.android?.collapse_key).to.equal(id);
      });

      it('clears the push token FCM reports UNREGISTERED; the message stays pullable', async () => {
        const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-gone' });
        fcm.unregistered.add('fcm-gone');
        const { id } = await post(instanceId);
        expect(fcm.received).to.deep.equal([]);
        expect(await api.instances.pushRegistration(instanceId)).to.deep.equal({ provider: 'none' });
        expect((await api.instances.find(instanceId))?.pushProvider).to.equal('none');
        await stillPullable(instanceId, id);
        expect(
          await counter(registry, 'nextauth_mc_pushes_failed_total', {
            provider: 'fcm',
            reason: 'registration-token-not-registered',
          }),
        ).to.equal(1);
        // Nothing more is sent to it.
        await post(instanceId);
        expect(fcm.received).to.deep.equal([]);
      });

      it('retries transient failures (INTERNAL, QUOTA_EXCEEDED) and then delivers', async () => {
        const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-3' });
        fcm.failNext(
          { httpStatus: 500, status: 'INTERNAL' },
          { httpStatus: 429, status: 'RESOURCE_EXHAUSTED', errorCode: 'QUOTA_EXCEEDED' },
        );
        const { id } = await post(instanceId);
        expect(fcm.received.map((r) => r.message.data?.mc_id)).to.deep.equal([id]);
        expect(await counter(registry, 'nextauth_mc_push_retries_total', { provider: 'fcm' })).to.equal(2);
        expect(await api.instances.pushRegistration(instanceId)).to.deep.equal({
          provider: 'fcm',
          token: 'fcm-token-3',
        });
      });

      it('gives up after the last attempt, keeps the token, and the message stays pullable', async () => {
        const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-4' });
        const internal = { httpStatus: 500, status: 'INTERNAL' };
        fcm.failNext(internal, internal, internal, internal);
        const { id } = await post(instanceId);
        expect(fcm.received).to.deep.equal([]);
        expect(
          await counter(registry, 'nextauth_mc_pushes_failed_total', {
            provider: 'fcm',
            reason: 'internal-error',
          }),
        ).to.equal(1);
        expect((await api.instances.pushRegistration(instanceId))?.provider).to.equal('fcm');
        await stillPullable(instanceId, id);
      });

      it('does not clear the token on a permanent error that is not about the token', async () => {
        const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-5' });
        fcm.failNext({ httpStatus: 403, status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH' });
        await post(instanceId);
        expect(await counter(registry, 'nextauth_mc_push_retries_total', { provider: 'fcm' })).to.equal(0);
        expect((await api.instances.pushRegistration(instanceId))?.provider).to.equal('fcm');
      });
    });

    describe('APNs', () => {
      it('delivers an alert with mutable-content, expiry, collapse id and topic; payload: id and sealed only', async () => {
        const { device, instanceId } = await instance({ provider: 'apns', token: 'a1b2c3d4' });
        const { id, sealed, expiresAt } = await post(instanceId, { collapseId: 'login-2' });
        expect(apns.received).to.have.length(1);
        const got = apns.received[0] ?? expect.fail('nothing received');
        expect(got.token).to.equal('a1b2c3d4');
        expect(got.headers).to.include({
          'apns-topic': apns.topic,
          'apns-push-type': 'alert',
          'apns-priority': '10',
          'apns-expiration': String(Math.floor(expiresAt / 1000)),
          'apns-collapse-id': 'login-2',
        });
        expect(got.payload).to.deep.equal({
          kind: 'nextauth',
          mc_id: id,
          mc_sealed: sealed,
          aps: { 'mutable-content': 1, alert: { body: '', 'loc-key': 'NEXTAUTH_MC_MESSAGE' } },
        });
        expect(JSON.stringify(got)).not.to.contain('Firefox');
        expect(await openOn(device, instanceId, String(got.payload.mc_sealed), clock.now())).to.equal(
          plaintext,
        );
        expect(await counter(registry, 'nextauth_mc_pushes_sent_total', { provider: 'apns' })).to.equal(1);
        expect(await deliveries(registry, 'apns')).to.equal(1);
      });

      for (const [status, reason] of [
        [410, 'Unregistered'],
        [400, 'BadDeviceToken'],
      ] as const) {
        it(`clears the push token on ${status} ${reason}; the message stays pullable`, async () => {
          const { instanceId } = await instance({ provider: 'apns', token: 'dead00' });
          if (status === 410) apns.unregistered.add('dead00');
          else apns.failNext({ status, reason });
          const { id } = await post(instanceId);
          expect(apns.received).to.deep.equal([]);
          expect(await api.instances.pushRegistration(instanceId)).to.deep.equal({ provider: 'none' });
          await stillPullable(instanceId, id);
          expect(
            await counter(registry, 'nextauth_mc_pushes_failed_total', { provider: 'apns', reason }),
          ).to.equal(1);
          apns.unregistered.delete('dead00');
        });
      }

      it('never puts a token that is not hex into the request path: cleared without a request', async () => {
        const { instanceId } = await instance({ provider: 'apns', token: '00ff/../../1/apps/x' });
        const { id } = await post(instanceId);
        expect(apns.received).to.deep.equal([]);
        expect(await api.instances.pushRegistration(instanceId)).to.deep.equal({ provider: 'none' });
        await stillPullable(instanceId, id);
      });

      it('retries 503 and 429 and then delivers', async () => {
        const { instanceId } = await instance({ provider: 'apns', token: 'beef01' });
        apns.failNext(
          { status: 503, reason: 'ServiceUnavailable' },
          { status: 429, reason: 'TooManyRequests' },
        );
        const { id } = await post(instanceId);
        expect(apns.received.map((r) => r.payload.mc_id)).to.deep.equal([id]);
        expect(await counter(registry, 'nextauth_mc_push_retries_total', { provider: 'apns' })).to.equal(2);
        expect((await api.instances.pushRegistration(instanceId))?.provider).to.equal('apns');
      });
    });

    it('a provider that is down: post succeeds, the message is in the mailbox and pullable', async () => {
      // Fakes started and stopped again: their ports now refuse connections.
      const goneFcm = await startFcmFake();
      const goneApns = await startApnsFake();
      await goneFcm.close();
      await goneApns.close();
      await api.push?.close();
      start({ fcm: fcmSender(goneFcm.endpoint), apns: apnsSender(goneApns.port) });
      const viaFcm = await instance({ provider: 'fcm', token: 'fcm-token-6' });
      const viaApns = await instance({ provider: 'apns', token: 'cafe02' });
      const first = await post(viaFcm.instanceId);
      const second = await post(viaApns.instanceId);
      await stillPullable(viaFcm.instanceId, first.id);
      await stillPullable(viaApns.instanceId, second.id);
      expect(
        await counter(registry, 'nextauth_mc_pushes_failed_total', { provider: 'apns', reason: 'network' }),
      ).to.equal(1);
      expect(await counter(registry, 'nextauth_mc_pushes_failed_total', { provider: 'fcm' })).to.equal(1);
      // Tokens are kept: an outage says nothing about them.
      expect((await api.instances.pushRegistration(viaFcm.instanceId))?.provider).to.equal('fcm');
      expect((await api.instances.pushRegistration(viaApns.instanceId))?.provider).to.equal('apns');
    });

    it('a provider not configured: no push, counted as not_configured, pull still works', async () => {
      await api.push?.close();
      start({ fcm: fcmSender() });
      const { instanceId } = await instance({ provider: 'apns', token: 'abcd03' });
      const { id } = await post(instanceId);
      await post(instanceId);
      expect(apns.received).to.deep.equal([]);
      expect(
        await counter(registry, 'nextauth_mc_pushes_failed_total', {
          provider: 'apns',
          reason: 'not_configured',
        }),
      ).to.equal(2);
      await stillPullable(instanceId, id);
    });

    it('post does not wait for the provider', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let sends = 0;
      const stuck: PushSender = {
        provider: 'fcm',
        async send() {
          sends++;
          await held;
          return { ok: true };
        },
        async close() {},
      };
      await api.push?.close();
      start({ fcm: stuck });
      const { instanceId } = await instance({ provider: 'fcm', token: 'fcm-token-7' });
      const { id } = await postTo(peer, instanceId, plaintext, { expiresAt: clock.now() + minute });
      await stillPullable(instanceId, id);
      release();
      await api.push?.idle();
      expect(sends).to.equal(1);
    });

    it('an instance without a push registration gets no push', async () => {
      const { instanceId } = await instance({ provider: 'none' });
      await post(instanceId);
      expect(fcm.received).to.deep.equal([]);
      expect(apns.received).to.deep.equal([]);
    });

    it('a token re-registered while a refused push was in flight is not cleared', async () => {
      const device = await newDevice();
      const register = (token: string) =>
        api.instances.register({
          publicJwk: publicKeyToJwk(device.signer.publicKey),
          encryptionKey: device.encryptionJwk,
          push: { provider: 'fcm', token },
        });
      const { id } = await register('old-token');
      await register('new-token');
      expect(await api.instances.clearPushToken(id, 'old-token')).to.equal(false);
      expect(await api.instances.pushRegistration(id)).to.deep.equal({ provider: 'fcm', token: 'new-token' });
      expect(await api.instances.clearPushToken(id, 'new-token')).to.equal(true);
      expect(await api.instances.clearPushToken(id, 'new-token')).to.equal(false);
    });
  });
}
