// createNsService exposes the session endpoints on its router (mounted at /ns by the runtime) with the
// configured root key, and the session service for in-process callers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { loadConfig } from '../../../../auth-server/common/config/index.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createMetrics } from '../../../../auth-server/common/metrics.js';
import { createNsService, type NsServiceInstance } from '../../../../auth-server/ns/service.js';
import { serve } from '../../../helpers/http.js';
import { logger } from './harness.js';

describe('ns service wiring', () => {
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let ns: NsServiceInstance;
  let url: string;
  let close: () => Promise<void>;
  const key = 'configured-root-key-0123456789';

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-wiring-'));
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_NS_ROOT_API_KEY: key,
        NEXTAUTH_SECRET_KEY: 'wiring-secret-key-0123456789',
        NEXTAUTH_PUBLIC_URL: 'https://id.example',
      },
      { mode: 'embedded' },
    );
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    const clock = new FixedClock();
    kv = new MemoryKv({ clock });
    ns = createNsService({
      config,
      logger,
      metrics: createMetrics({ defaults: false }),
      clock,
      random: systemRandom,
      kv,
      db: knex,
      peers: {},
    });
    await ns.start?.();
    const app = createHttpApp({ logger });
    const root = new Router();
    if (!ns.router) throw new Error('NS has no router');
    root.use('/ns', ns.router.routes(), ns.router.allowedMethods());
    app.use(root.routes());
    const listener = await serve(app);
    url = listener.url;
    close = () => listener.close(100);
  });
  after(async () => {
    await close();
    await knex.destroy();
    await kv.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a session on `default` with the configured root key; the QR names the public URL', async () => {
    const res = await fetch(`${url}/ns/api/v2/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': key },
      body: JSON.stringify({ server: 'default' }),
    });
    expect(res.status).to.equal(201);
    const { nonce } = (await res.json()) as { nonce: string };
    const qr = await ns.sessions.currentLoginCode(nonce);
    expect(qr.qrData).to.deep.include({ ns: 'https://id.example', s: 'default' });
  });

  it('sets a __Host- Secure cookie when the public URL is https', async () => {
    const res = await fetch(`${url}/ns/servers/default/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get('set-cookie')).to.match(/^__Host-nextauth_ns_default=.*; Secure$/);
  });
});
