// The basic cross-instance QR login of distributed-topology.test.ts on MariaDB (a database per service and
// run on NEXTAUTH_TEST_MYSQL_URI) + Redis behind haproxy: the phone confirms on NS instance 1, the browser's
// SSE on instance 2 reports loggedin.
import { expect } from 'chai';
import { probeDatabase } from '../auth-server/common/db/databases.js';
import { probeRedis } from '../auth-server/common/kv/redis-service.js';
import { Browser } from '../helpers/qr-actors.js';
import { requireService } from '../helpers/services.js';
import { requireHaproxy, startTopology, type Topology } from '../helpers/topology.js';
import { enrolledPhone, provision, server } from '../helpers/topology-logins.js';

describe('e2e: distributed topology on MariaDB + Redis (haproxy)', function () {
  this.timeout(300_000);
  let t: Topology | undefined;

  before(async function () {
    const mysql = await requireService(this, 'mariadb', probeDatabase);
    const redis = await requireService(this, 'redis', probeRedis);
    await requireHaproxy(this);
    t = await startTopology({ dbUri: mysql, redisUri: redis, instances: { ns: 2, sfs: 2, mc: 1, idp: 1 } });
    await provision(t);
  });

  after(async () => {
    const codes = (await t?.stop()) ?? [];
    expect(codes.filter((c) => c !== null && c !== 0)).to.deep.equal([]);
  });

  it('the phone confirms on instance 1, the browser SSE on instance 2 reports loggedin', async () => {
    if (!t) throw new Error('topology not started');
    const phone = await enrolledPhone(t, t.pinned.a, 'alice');
    const browser = new Browser(t.pinned.b, server);
    const qrUri = await browser.start();
    const events = await browser.events();
    expect(events.servedBy).to.equal('ns2');
    await phone.login(qrUri);
    expect(await events.final).to.deep.include({ state: 'loggedin', loggedin: true, userid: 'alice' });
    expect([...new Set(browser.servedBy)]).to.deep.equal(['ns2']);
  });
});
