// `npm run bench -- scale`: distributed mode with 1 and then 2 `nextauth serve` instances per service
// (test/helpers/topology.ts: PostgreSQL, a Redis server of the run's own, haproxy round-robin in front).
// 1. QR logins/s at a fixed concurrency through haproxy (browser: browser-session → QR → SSE until
//    loggedin; phone: the mobile SDK core over ws). The 1-instance run is the baseline: the figure is the
//    ratio 2 instances ÷ 1 instance on this machine, at this moment.
// 2. Redis memory per open login session: INFO memory before and after N browser sessions, each with its
//    SSE stream open (a subscribed channel) and the keys its requests leave (per-IP rate-limit windows:
//    every session comes from its own address, as distinct people do).
// Needs NEXTAUTH_BENCH_PG_URI (or NEXTAUTH_TEST_PG_URI), redis-server and haproxy.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { parseRedisUri } from '../../auth-server/common/kv/redis.js';
import { startOwnRedis } from '../../test/helpers/own-services.js';
import { Browser, type Phone } from '../../test/helpers/qr-actors.js';
import { startTopology, type Topology } from '../../test/helpers/topology.js';
import { enrolledPhone, provision, server } from '../../test/helpers/topology-logins.js';

const concurrency = Number(process.env.NEXTAUTH_BENCH_CONCURRENCY ?? 8);
const seconds = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 20);
const sessions = Number(process.env.NEXTAUTH_BENCH_SESSIONS ?? 200);
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function usedMemory(uri: string): Promise<number> {
  const redis = new Redis(parseRedisUri(uri));
  try {
    const info = await redis.info('memory');
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  } finally {
    redis.disconnect();
  }
}

async function loginRate(
  t: Topology,
  phones: Phone[],
): Promise<{ rate: number; count: number; errors: number }> {
  const one = async (phone: Phone) => {
    const browser = new Browser(t.publicUrl, server);
    const qrUri = await browser.start();
    const events = await browser.events();
    await phone.login(qrUri);
    const final = await events.final;
    if (!final.loggedin) throw new Error(`login ended ${final.state}`);
  };
  // Warm-up: each phone once.
  await Promise.all(phones.map(one));
  let count = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    phones.map(async (phone) => {
      while (performance.now() < end) {
        try {
          await one(phone);
          count++;
        } catch (err) {
          errors++;
          if (errors > 20) throw err;
        }
      }
    }),
  );
  return { rate: count / ((performance.now() - started) / 1000), count, errors };
}

async function memoryPerSession(t: Topology, redisUri: string): Promise<number> {
  const before = await usedMemory(redisUri);
  const open: { close(): void }[] = [];
  for (let i = 0; i < sessions; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, sessions - i) }, async () => {
        const browser = new Browser(t.publicUrl, server);
        await browser.start();
        open.push(await browser.events());
      }),
    );
  }
  const after = await usedMemory(redisUri);
  for (const s of open) s.close();
  return (after - before) / sessions;
}

export async function run(): Promise<void> {
  const pgUri = process.env.NEXTAUTH_BENCH_PG_URI ?? process.env.NEXTAUTH_TEST_PG_URI;
  if (!pgUri)
    throw new Error('scale: set NEXTAUTH_BENCH_PG_URI (a PostgreSQL account that may create databases)');
  const redis = await startOwnRedis();
  try {
    const results: Record<number, { rate: number; count: number; errors: number; perSession: number }> = {};
    for (const instances of [1, 2]) {
      console.log(`starting ${instances} instance(s) per service (load average ${load()})`);
      const t = await startTopology({ dbUri: pgUri, redisUri: redis.uri, instances });
      try {
        await provision(t);
        const phones: Phone[] = [];
        for (let i = 0; i < concurrency; i++) phones.push(await enrolledPhone(t, t.publicUrl, `scale-${i}`));
        const measured = await loginRate(t, phones);
        const perSession = await memoryPerSession(t, redis.uri);
        results[instances] = { ...measured, perSession };
        console.log(
          `${instances} instance(s) per service: ${fmt(measured.rate)} QR logins/s at concurrency ${concurrency} ` +
            `(${measured.count} in ${seconds} s, ${measured.errors} errors); Redis ${fmt(perSession)} bytes per open ` +
            `login session (${sessions} sessions with SSE); load average ${load()}`,
        );
      } finally {
        await t.stop();
      }
    }
    const [one, two] = [results[1], results[2]];
    if (one && two) {
      console.log(
        `ratio 2 ÷ 1 instances: ${(two.rate / one.rate).toFixed(2)} (2 shared cores: more processes cannot add CPU)`,
      );
      console.log(
        `Redis per open login session: ${fmt(Math.max(one.perSession, two.perSession))} bytes (target ≤ 2048)`,
      );
    }
  } finally {
    await redis.destroy();
  }
}
