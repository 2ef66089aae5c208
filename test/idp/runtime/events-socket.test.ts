// The runtime serves `/ns/events` on the public port beside the phone channels (a key is needed before the
// upgrade), and a malformed NEXTAUTH_OUTBOUND_ALLOW stops start-up with one line naming the variable.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { ConfigError, loadConfig } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { startRuntime } from '../../../idp/runtime/runtime.js';
import { freePort } from '../../helpers/http.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const rootKey = 'runtime-events-root-key-0123456789';

describe('idp/runtime: /ns/events', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-events-rt-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  async function config(extra: Record<string, string> = {}) {
    const [port, adminPort] = [await freePort(), await freePort()];
    return loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(adminPort),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_NS_ROOT_API_KEY: rootKey,
        ...extra,
      },
      { mode: 'embedded' },
    );
  }

  it('refuses an upgrade without a key and sends READY to the root key', async () => {
    const c = await config();
    const runtime = await startRuntime({ config: c, logger, services: ['ns', 'sfs'] });
    const url = `ws://127.0.0.1:${c.port}/ns/events`;
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('error', () => {});
        ws.once('unexpected-response', (req, res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        ws.once('open', () => reject(new Error('upgrade accepted')));
      });
      expect(status).to.equal(401);
      const ws = new WebSocket(url, { headers: { 'x-apikey': rootKey } });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
      });
      expect(JSON.parse(first)).to.deep.equal({ type: 'READY' });
      ws.close();
    } finally {
      await runtime.close();
    }
  });

  it('a malformed NEXTAUTH_OUTBOUND_ALLOW entry is a ConfigError naming the variable', async () => {
    const c = await config({ NEXTAUTH_OUTBOUND_ALLOW: 'hooks.internal, 10.0.0.0/40' });
    const err = await startRuntime({ config: c, logger, services: ['ns', 'sfs'] }).then(
      () => {
        throw new Error('expected start-up to fail');
      },
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).variable).to.equal('NEXTAUTH_OUTBOUND_ALLOW');
  });
});
