// Distributed mode at scale (issue #13): two `nextauth serve` processes per service on PostgreSQL + Redis
// behind haproxy (test/helpers/topology.ts). The phone (the SDK over ws) talks to haproxy's frontend `a`
// (instance 1 of every service), the browser to frontend `b` (instance 2), so every login crosses instances:
// the phone confirms on ns1, the browser's SSE on ns2 hears it over Redis pub/sub.
import { expect } from 'chai';
import { probeDatabase } from '../auth-server/common/db/databases.js';
import { probeRedis } from '../auth-server/common/kv/redis-service.js';
import { Browser, oidcCode, type Phone } from '../helpers/qr-actors.js';
import { requireService } from '../helpers/services.js';
import { requireHaproxy, startTopology, type Topology } from '../helpers/topology.js';
import { client, enrolledPhone, loginWithRetry, provision, server } from '../helpers/topology-logins.js';

describe('e2e: distributed topology (2 instances per service, PostgreSQL + Redis, haproxy)', function () {
  this.timeout(300_000);
  let t: Topology | undefined;
  let phone: Phone;
  const topo = () => {
    if (!t) throw new Error('topology not started');
    return t;
  };

  before(async function () {
    const pg = await requireService(this, 'postgres', probeDatabase);
    const redis = await requireService(this, 'redis', probeRedis);
    await requireHaproxy(this);
    t = await startTopology({ dbUri: pg, redisUri: redis });
    await provision(t);
    phone = await enrolledPhone(t, t.pinned.a, 'alice');
  });

  after(async () => {
    if (!t) return;
    const codes = await t.stop();
    // Every instance still running at the end stops cleanly on SIGTERM.
    expect(codes.filter((c) => c !== null && c !== 0)).to.deep.equal([]);
  });

  it('the phone confirms on instance 1, the browser SSE on instance 2 reports loggedin', async () => {
    const browser = new Browser(topo().pinned.b, server);
    const qrUri = await browser.start();
    const events = await browser.events();
    expect(events.servedBy).to.equal('ns2');
    await phone.login(qrUri);
    const final = await events.final;
    expect(final).to.deep.include({ state: 'loggedin', loggedin: true, userid: 'alice' });
    // Everything the browser asked was answered by instance 2; the phone's frontend prefers instance 1.
    expect([...new Set(browser.servedBy)]).to.deep.equal(['ns2']);
    const viaA = await fetch(`${topo().pinned.a}/ns/servers/${server}/branding`);
    expect(viaA.headers.get('x-served-by')).to.equal('ns1');
  });

  it('the public frontend spreads requests over both instances', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${topo().publicUrl}/ns/servers/${server}/branding`);
      expect(res.status).to.equal(200);
      seen.add(res.headers.get('x-served-by') ?? '');
    }
    expect([...seen].sort()).to.deep.equal(['ns1', 'ns2']);
  });

  it('the same authorization code redeemed in parallel on both IdP instances: exactly one wins', async () => {
    const [idp1, idp2] = topo().instances.idp;
    if (!idp1 || !idp2) throw new Error('two IdP instances expected');
    for (let round = 0; round < 2; round++) {
      const { code, verifier } = await oidcCode(new Browser(topo().pinned.b, server), phone, client);
      const redeem = (origin: string) =>
        fetch(`${origin}/oidc/${server}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: client.redirectUri,
            code_verifier: verifier,
          }).toString(),
        });
      const answers = await Promise.all([redeem(idp1.url), redeem(idp2.url)]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, `round ${round}`).to.deep.equal([200, 400]);
      const [loser, winner] = [400, 200].map((status) => answers.find((r) => r.status === status));
      if (!loser || !winner) throw new Error('one winner and one loser expected');
      expect(((await loser.json()) as { error: string }).error).to.equal('invalid_grant');
      expect(await winner.json()).to.have.property('id_token');
    }
  });

  it('SIGKILL of the phone-side NS instance amid a batch loses no completed login; the rest complete by retry', async () => {
    const tp = topo();
    const [ns1] = tp.instances.ns;
    if (!ns1) throw new Error('ns1 expected');
    const phones = [
      phone,
      await enrolledPhone(tp, tp.pinned.a, 'bob'),
      await enrolledPhone(tp, tp.pinned.a, 'carol'),
    ];
    const completed: Browser[] = [];
    let killed: Promise<number | null> | undefined;
    const results = await Promise.all(
      phones.map(async (p) => {
        const mine: { attempts: number }[] = [];
        for (let i = 0; i < 3; i++) {
          const done = await loginWithRetry(tp.publicUrl, p);
          completed.push(done.browser);
          mine.push(done);
          // Mid-batch: once two logins have completed, instance 1 of NS dies without any warning.
          if (completed.length === 2 && !killed) killed = tp.signal(ns1, 'SIGKILL');
        }
        return mine;
      }),
    );
    expect(await killed).to.equal(null);
    expect(results.flat()).to.have.length(9);
    // Every completed login is still logged in when read back through the surviving instance.
    for (const browser of completed) {
      expect((await browser.status()).loggedin).to.equal(true);
    }
    await tp.restart(ns1);
    const again = await loginWithRetry(tp.pinned.a, phone, 1);
    expect(again.attempts).to.equal(1);
  });

  it('SIGTERM drains: an instance stops taking work, finishes what runs and exits 0; logins carry on', async () => {
    const tp = topo();
    const [, ns2] = tp.instances.ns;
    if (!ns2) throw new Error('ns2 expected');
    // Requests already running on ns2 when the signal arrives still get their answers.
    const browsers = Array.from({ length: 8 }, () => new Browser(ns2.url, server));
    const inFlight = browsers.map((b) => b.start());
    const stopped = tp.signal(ns2, 'SIGTERM');
    const answered = await Promise.allSettled(inFlight);
    expect(await stopped).to.equal(0);
    const failures = answered.filter((a) => a.status === 'rejected').map((a) => String(a.reason));
    // A request that reached ns2 before it stopped accepting is answered; one after is refused at connect.
    for (const f of failures) expect(f).to.match(/fetch failed|ECONNREFUSED/);
    // Through the proxy nothing is lost: haproxy saw ns2 not ready and sends everything to ns1.
    const { browser } = await loginWithRetry(tp.pinned.b, phone, 3);
    expect((await browser.status()).loggedin).to.equal(true);
    await tp.restart(ns2);
  });
});
