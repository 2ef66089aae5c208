// Embedded mode serves a signed demo SDK configuration whose SFS entry is the SFS it runs, reachable over /sfs/mobile.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FixedClock } from '../../../auth-server/common/clock.js';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../../idp/runtime/runtime.js';
import { publisherKeyFile } from '../../../idp/runtime/sdk-config-route.js';
import {
  Channel,
  connect,
  generateIdentityKeyPair,
  publicKeyFromJwk,
  signerFromKeyPair,
} from '../../../protocol/index.js';
import { sfsMobileMessages, sfsTargetId } from '../../../protocol/mobile/index.js';
import { sdkConfigDocumentSchema } from '../../../protocol/sdk-config/schema.js';
import { verifySdkConfig } from '../../../protocol/sdk-config/verify.js';
import { freePort } from '../../helpers/http.js';
import { openLoopbackClient } from '../../protocol/ws-server.js';

describe('idp/runtime: embedded GET /sdk-config', function () {
  this.timeout(30_000);
  let dataDir: string;
  let url: string;
  let runtime: Runtime | undefined;

  async function start(): Promise<Runtime> {
    const [port, adminPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(adminPort),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_PUBLIC_URL: url,
      },
      { mode: 'embedded' },
    );
    runtime = await startRuntime({
      config,
      logger: createLogger({ level: 'silent', format: 'json' }),
      services: ['ns', 'sfs', 'mc', 'idp'],
    });
    return runtime;
  }

  async function fetchDocument() {
    const res = await fetch(`${url}/sdk-config`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    return sdkConfigDocumentSchema.parse(await res.json());
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-sdk-config-'));
  });
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is signed by the returned publisher key and names this SFS by URL and channel key', async () => {
    await start();
    const doc = await fetchDocument();
    const config = await verifySdkConfig(doc.config, [doc.publisherKey], new FixedClock(Date.now()));
    expect(config.sfs.url).to.equal(`${url.replace(/^http/, 'ws')}/sfs/mobile`);
    expect(config.mc.url).to.equal(`${url.replace(/^http/, 'ws')}/mc/mobile`);

    // A phone that pins the configured SFS key completes the handshake: it is the SFS channel key.
    const session = await connect(await openLoopbackClient(config.sfs.url), {
      target: { kind: 'sfs', id: await sfsTargetId(`${url}/sfs`) },
      server: { keys: [publicKeyFromJwk(config.sfs.key)] },
      identity: await signerFromKeyPair(await generateIdentityKeyPair()),
    });
    const channel = new Channel(session, sfsMobileMessages);
    try {
      expect(session.info.serverKey).to.deep.equal(publicKeyFromJwk(config.sfs.key));
      const { pinSet } = await channel.request('instance.register', {});
      expect(pinSet).to.equal(false);
    } finally {
      await channel.close();
    }
  });

  it('keeps the publisher key (0600) and the MC channel key across restarts', async () => {
    await start();
    const first = await fetchDocument();
    expect((await stat(join(dataDir, publisherKeyFile))).mode & 0o777).to.equal(0o600);
    await runtime?.close();
    runtime = undefined;
    await start();
    const second = await fetchDocument();
    expect(second.publisherKey).to.deep.equal(first.publisherKey);
    const [a, b] = await Promise.all(
      [first, second].map((d) => verifySdkConfig(d.config, [d.publisherKey], new FixedClock(Date.now()))),
    );
    expect(b?.sfs.key).to.deep.equal(a?.sfs.key);
    expect(b?.mc.key).to.deep.equal(a?.mc.key);
  });
});
