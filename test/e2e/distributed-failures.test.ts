// Distributed mode when a dependency goes away (issue #13): the topology of test/helpers/topology.ts on a
// PostgreSQL cluster and a Redis server of this suite's own (the machine's shared ones must never be
// restarted), with two NS instances and one of each other service. While Redis or PostgreSQL is down every
// instance reports not ready (503 at /readyz, so the proxy answers 503); when it is back they recover
// without anyone touching them, the logins completed before are still logged in, and a browser that waited
// through the outage on NS instance 2 hears a login confirmed on instance 1.
import { expect } from 'chai';
import {
  type OwnPostgres,
  type OwnRedis,
  requireOwnPostgres,
  requireOwnRedis,
  startOwnPostgres,
  startOwnRedis,
} from '../helpers/own-services.js';
import { Browser, type Phone } from '../helpers/qr-actors.js';
import {
  type Instance,
  requireHaproxy,
  services,
  startTopology,
  type Topology,
} from '../helpers/topology.js';
import { enrolledPhone, loginWithRetry, provision, server } from '../helpers/topology-logins.js';

async function readiness(i: Instance): Promise<number> {
  try {
    return (await fetch(i.readyz)).status;
  } catch {
    return 0;
  }
}

/** Polls until every instance's /readyz answers `status`. */
async function allReady(t: Topology, status: number): Promise<void> {
  const all = services.flatMap((svc) => t.instances[svc]);
  for (let i = 0; i < 600; i++) {
    const statuses = await Promise.all(all.map(readiness));
    if (statuses.every((s) => s === status)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`instances did not all answer ${status} at /readyz`);
}

/** One path per route of the proxy. Only the NS one names a page; the others only need a backend, so an
 * instance answers them 404 and haproxy answers 503 while it counts no instance of that service up. */
const routes = [`/ns/servers/${server}/branding`, '/sfs/ready-probe', '/mc/ready-probe', '/ready-probe'];

/** Polls until every frontend of the proxy answers every route with 503 (`down`) or anything else (`up`):
 * haproxy sees an instance again only at its next health check, one route at a time. */
async function proxyAnswers(t: Topology, want: 'up' | 'down'): Promise<void> {
  const urls = [t.publicUrl, t.pinned.a, t.pinned.b].flatMap((base) => routes.map((r) => `${base}${r}`));
  const matches = async (url: string) => {
    const status = (await fetch(url).catch(() => undefined))?.status;
    return want === 'down' ? status === 503 : status !== undefined && status !== 503;
  };
  for (let i = 0; i < 600; i++) {
    if ((await Promise.all(urls.map(matches))).every(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the proxy did not answer every route ${want}`);
}

describe('e2e: distributed mode survives Redis and PostgreSQL restarts (own servers, haproxy)', function () {
  this.timeout(300_000);
  let redis: OwnRedis | undefined;
  let pg: OwnPostgres | undefined;
  let t: Topology | undefined;
  let phone: Phone;
  const completed: Browser[] = [];
  const topo = () => {
    if (!t) throw new Error('topology not started');
    return t;
  };

  before(async function () {
    await requireOwnRedis(this);
    await requireOwnPostgres(this);
    await requireHaproxy(this);
    redis = await startOwnRedis();
    pg = await startOwnPostgres();
    t = await startTopology({
      dbUri: pg.uri,
      redisUri: redis.uri,
      instances: { ns: 2, sfs: 1, mc: 1, idp: 1 },
    });
    await provision(t);
    phone = await enrolledPhone(t, t.pinned.a, 'alice');
    completed.push((await loginWithRetry(t.pinned.b, phone, 1)).browser);
  });

  after(async () => {
    // Both dependencies up again before the topology stops (a failed test may have left one down).
    await redis?.start().catch(() => {});
    await pg?.start().catch(() => {});
    const codes = (await t?.stop()) ?? [];
    await redis?.destroy();
    await pg?.destroy();
    expect(codes.filter((c) => c !== null && c !== 0)).to.deep.equal([]);
  });

  it('Redis restart: not ready meanwhile, recovers alone; a browser waiting through it on ns2 hears the login on ns1', async () => {
    const tp = topo();
    if (!redis) throw new Error('no redis');
    const browser = new Browser(tp.pinned.b, server);
    const qrUri = await browser.start();
    const events = await browser.events();
    expect(events.servedBy).to.equal('ns2');
    await redis.stop();
    await allReady(tp, 503);
    await proxyAnswers(tp, 'down');
    await redis.start();
    await allReady(tp, 200);
    await proxyAnswers(tp, 'up');
    // ns2 subscribed again by itself (nothing restarted it), so the stream hears ns1's confirmation.
    await phone.login(qrUri);
    expect(await events.final).to.deep.include({ state: 'loggedin', userid: 'alice' });
    completed.push(browser);
    for (const b of completed) expect((await b.status()).loggedin).to.equal(true);
  });

  it('PostgreSQL restart: not ready meanwhile, recovers alone; logins before and after are logged in', async () => {
    const tp = topo();
    if (!pg) throw new Error('no postgres');
    await pg.stop();
    await allReady(tp, 503);
    await proxyAnswers(tp, 'down');
    await pg.start();
    await allReady(tp, 200);
    await proxyAnswers(tp, 'up');
    // The pools reconnect on their own; a first request may still meet a dead pooled connection: retry.
    completed.push((await loginWithRetry(tp.pinned.b, phone, 3)).browser);
    for (const b of completed) expect((await b.status()).loggedin).to.equal(true);
  });
});
