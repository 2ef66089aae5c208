// `npm run bench -- mc-delivery`: MC push delivery latency — from `McPeer.post` to the provider accepting the
// push — through the local FCM and APNs fakes (test/fakes, loopback only), as a ratio to the baseline
// measured in the same run: the same post to an instance without push (seal + store + bus publish only).
// SQLite and the in-process KV. Not the push-login bench (`push`), which measures whole logins.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock, systemRandom } from '../../auth-server/common/clock.js';
import { openDb } from '../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../auth-server/common/kv/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { createMcPeer } from '../../auth-server/mc/peer.js';
import { createApnsSender } from '../../auth-server/mc/push/apns.js';
import { createPushDispatcher } from '../../auth-server/mc/push/dispatcher.js';
import { createFcmSender } from '../../auth-server/mc/push/fcm.js';
import type { PushSender } from '../../auth-server/mc/push/sender.js';
import { createMcApi } from '../../auth-server/mc/service.js';
import { generateIdentityKeyPair, publicKeyToJwk, signerFromKeyPair } from '../../protocol/index.js';
import { newMcMessageId, sealMcMessage } from '../../protocol/mobile/mc-seal.js';
import { startApnsFake } from '../../test/fakes/apns.js';
import { startFcmFake } from '../../test/fakes/fcm.js';

const rounds = Number(process.env.NEXTAUTH_BENCH_ROUNDS ?? 5);
const perRound = Number(process.env.NEXTAUTH_BENCH_MESSAGES ?? 100);
const concurrency = Number(process.env.NEXTAUTH_BENCH_CONCURRENCY ?? 4);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

/** Reports when the provider accepted each message (by id). */
function timed(sender: PushSender, accepted: Map<string, number>): PushSender {
  return {
    provider: sender.provider,
    async send(token, notice) {
      const outcome = await sender.send(token, notice);
      if (outcome.ok)
        accepted.get(notice.messageId) === undefined && accepted.set(notice.messageId, performance.now());
      return outcome;
    },
    close: () => sender.close(),
  };
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nextauth-bench-mc-'));
  const fcm = await startFcmFake();
  const apns = await startApnsFake();
  const db = openDb({ dataDir: dir, service: 'mc' });
  await migrateLatest(db, 'mc');
  const kv = new MemoryKv({ clock: systemClock });
  const accepted = new Map<string, number>();
  const senders = {
    fcm: timed(
      createFcmSender({
        serviceAccount: fcm.serviceAccount,
        clock: systemClock,
        endpoint: { ...fcm.endpoint, ca: fcm.ca },
      }),
      accepted,
    ),
    apns: timed(
      createApnsSender({
        key: apns.key,
        keyId: apns.keyId,
        teamId: apns.teamId,
        topic: apns.topic,
        production: false,
        endpoint: { host: apns.address, port: apns.port, ca: apns.ca },
      }),
      accepted,
    ),
  };
  const api = createMcApi({
    db,
    kv,
    clock: systemClock,
    random: systemRandom,
    publicUrl: 'https://bench.example',
    secretKey: 'bench-secret-key-0123456789abcdef',
    limits: { maxPending: 1_000_000 },
    push: (instances) =>
      createPushDispatcher({
        instances,
        senders,
        clock: systemClock,
        logger: createLogger({ level: 'silent', format: 'json' }),
      }),
  });
  const peer = createMcPeer(api);
  try {
    const instance = async (push: { provider: 'fcm' | 'apns'; token: string } | { provider: 'none' }) => {
      const signer = await signerFromKeyPair(await generateIdentityKeyPair());
      const enc = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
        'deriveBits',
      ])) as CryptoKeyPair;
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', enc.publicKey));
      const { id } = await api.instances.register({
        publicJwk: publicKeyToJwk(signer.publicKey),
        encryptionKey: publicKeyToJwk(raw),
        push,
      });
      return { id, key: publicKeyToJwk(raw) };
    };
    const targets = {
      baseline: await instance({ provider: 'none' }),
      fcm: await instance({ provider: 'fcm', token: 'bench-fcm-token' }),
      apns: await instance({ provider: 'apns', token: 'beefcafe' }),
    };
    /** One round: `perRound` posts at `concurrency`; latency per message = post start → done (accepted or stored). */
    const round = async (target: keyof typeof targets): Promise<number[]> => {
      const { id: instanceId, key } = targets[target];
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < perRound) {
            const id = newMcMessageId();
            const start = performance.now();
            const sealed = await sealMcMessage({
              recipientKey: key,
              instanceId,
              id,
              expiresAt: Date.now() + 60_000,
              plaintext: '{"type":"login","match":"42"}',
            });
            await peer.post({ instanceId, sealed });
            if (target === 'baseline') latencies.push(performance.now() - start);
            else {
              // The push started inside post; once nothing is in flight it was accepted or given up (NaN).
              await api.push?.idle();
              latencies.push((accepted.get(id) ?? Number.NaN) - start);
            }
          }
        }),
      );
      return latencies;
    };
    for (const t of ['baseline', 'fcm', 'apns'] as const) await round(t); // warm-up (connections, OAuth token)
    const all: Record<string, number[]> = { baseline: [], fcm: [], apns: [] };
    const medians: Record<string, number[]> = { baseline: [], fcm: [], apns: [] };
    for (let r = 0; r < rounds; r++)
      for (const t of ['baseline', 'fcm', 'apns'] as const) {
        const l = await round(t);
        all[t]?.push(...l);
        medians[t]?.push(median(l));
      }
    const base = median(medians.baseline ?? []);
    console.log(
      `${rounds} interleaved rounds × ${perRound} posts at concurrency ${concurrency}; SQLite + memory KV`,
    );
    console.log(
      `baseline (post, no push): p50 ${fmt(base)} ms, p99 ${fmt(pct(all.baseline ?? [], 0.99))} ms`,
    );
    for (const t of ['fcm', 'apns'] as const) {
      const m = median(medians[t] ?? []);
      console.log(
        `${t.padEnd(4)} post → provider accepted: p50 ${fmt(m)} ms, p99 ${fmt(pct(all[t] ?? [], 0.99))} ms; ratio p50 ${fmt(m / base)}× the baseline`,
      );
    }
    if (fcm.rejected.length + apns.rejected.length > 0)
      console.log(
        `fakes refused ${fcm.rejected.length + apns.rejected.length} requests: ${[...fcm.rejected, ...apns.rejected].join('; ')}`,
      );
  } finally {
    await api.push?.close();
    await kv.close();
    await db.destroy();
    await fcm.close();
    await apns.close();
    await rm(dir, { recursive: true, force: true });
  }
}
