// Distributed wiring in one test process: three runtimes in `serve` mode (SFS + MC, NS, IdP), each on its own
// SQLite files, reach each other only through the internal HTTP endpoints and the service key.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig, type ServiceName } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { PeerError } from '../../../auth-server/common/peers-http/errors.js';
import { type Runtime, startRuntime } from '../../../idp/runtime/runtime.js';
import { freePort } from '../../helpers/http.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const serviceKey = 'remote-peers-service-key-0123456789abcdef';
const nextServiceKey = 'remote-peers-next-service-key-0123456789';
const rootKey = 'remote-peers-root-key-0123456789';

describe('idp/runtime: peers over HTTP between `serve` runtimes', function () {
  this.timeout(60_000);
  let dataDir: string;
  const runtimes: Runtime[] = [];
  const ports = { providers: 0, ns: 0, idp: 0 };

  async function config(port: number, extra: Record<string, string> = {}) {
    return loadConfig(
      {
        NEXTAUTH_DATA_DIR: join(dataDir, String(port)),
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(await freePort()),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_PUBLIC_URL: 'http://127.0.0.1:1',
        NEXTAUTH_KV_URI: 'memory://',
        NEXTAUTH_NS_ROOT_API_KEY: rootKey,
        NEXTAUTH_SECRET_KEY: 'remote-peers-secret-key-0123456789',
        NEXTAUTH_SFS_PIN_PEPPER: 'remote-peers-pin-pepper-0123456789',
        NEXTAUTH_NS_DB_ENABLE_MIGRATIONS: 'true',
        NEXTAUTH_SFS_DB_ENABLE_MIGRATIONS: 'true',
        NEXTAUTH_MC_DB_ENABLE_MIGRATIONS: 'true',
        NEXTAUTH_IDP_DB_ENABLE_MIGRATIONS: 'true',
        ...extra,
      },
      { mode: 'service' },
    );
  }
  const start = async (port: number, services: ServiceName[], extra: Record<string, string>) => {
    const runtime = await startRuntime({ config: await config(port, extra), logger, services });
    runtimes.push(runtime);
    return runtime;
  };
  const url = (port: number) => `http://127.0.0.1:${port}`;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-remote-peers-'));
    ports.providers = await freePort();
    ports.ns = await freePort();
    ports.idp = await freePort();
    // Caught in the middle of a service-key rotation (docs/operations.md): SFS+MC still send the old key
    // and accept the new one, NS already sends the new one and still accepts the old one, the IdP has not
    // been touched yet. Every call between them must go through.
    const oldKey = { NEXTAUTH_SERVICE_KEY: serviceKey, NEXTAUTH_SERVICE_KEY_ACCEPTED: nextServiceKey };
    const newKey = { NEXTAUTH_SERVICE_KEY: nextServiceKey, NEXTAUTH_SERVICE_KEY_ACCEPTED: serviceKey };
    await start(ports.providers, ['sfs', 'mc'], { ...oldKey, NEXTAUTH_NS_URL: url(ports.ns) });
    await start(ports.ns, ['ns'], {
      ...newKey,
      NEXTAUTH_SFS_URL: url(ports.providers),
      NEXTAUTH_MC_URL: url(ports.providers),
    });
    await start(ports.idp, ['idp'], { NEXTAUTH_SERVICE_KEY: serviceKey, NEXTAUTH_NS_URL: url(ports.ns) });
  });
  after(async () => {
    for (const runtime of runtimes.reverse()) await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('NS reaches the SFS and the MC over HTTP', async () => {
    const ns = runtimes[1] as Runtime;
    const sfs = ns.peers.sfs;
    const mc = ns.peers.mc;
    if (!sfs || !mc) throw new Error('NS runtime lacks its peers');
    expect(sfs.issuer).to.equal('http://127.0.0.1:1/sfs');
    const keys = await sfs.publicKeys();
    expect(keys).to.have.length.greaterThan(0);
    expect(keys[0]).to.have.property('kid');
    await sfs.registerServer({ id: 'http://127.0.0.1:1/ns/remote', policy: { maxAttempts: 4 } });
    expect(await mc.recipient({ instanceId: 'no-such-instance' })).to.equal(undefined);
    const err = await mc.post({ instanceId: 'no-such-instance', sealed: 'x' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PeerError);
    expect((err as PeerError).code).to.be.oneOf(['unknown_instance', 'invalid_request']);
  });

  it('the IdP management API authenticates keys through NS over HTTP', async () => {
    const idp = runtimes[2] as Runtime;
    expect(await idp.peers.ns?.findServer('nope')).to.equal(undefined);
    expect(idp.peers.ns?.browserSessionCookieName('default')).to.equal('nextauth_ns_default');
    const path = `${url(ports.idp)}/idp/api/v1/servers/nope/oidc/clients`;
    const wrong = await fetch(path, { headers: { 'x-apikey': 'w'.repeat(32) } });
    expect(wrong.status).to.equal(401);
    const root = await fetch(path, { headers: { 'x-apikey': rootKey } });
    // The root key is known to NS; the server is not.
    expect(root.status).to.be.oneOf([403, 404]);
  });

  it('internal endpoints accept the service key and the accepted one, both in one rotation window', async () => {
    for (const [svc, port] of [
      ['sfs', ports.providers],
      ['ns', ports.ns],
    ] as const) {
      for (const key of [serviceKey, nextServiceKey]) {
        const res = await fetch(
          `${url(port)}/${svc}/internal/v1/${svc === 'sfs' ? 'publicKeys' : 'findServer'}`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-nextauth-service-key': key },
            body: svc === 'sfs' ? '[]' : '["default"]',
          },
        );
        expect(res.status, `${svc} ${key}`).to.equal(200);
      }
    }
  });

  it('internal endpoints refuse a missing or wrong service key', async () => {
    for (const [svc, port] of [
      ['mc', ports.providers],
      ['sfs', ports.providers],
      ['ns', ports.ns],
    ] as const) {
      for (const key of [undefined, 'w'.repeat(40)]) {
        const res = await fetch(`${url(port)}/${svc}/internal/v1/publicKeys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { 'x-nextauth-service-key': key } : {}) },
          body: '[]',
        });
        expect(res.status, `${svc} ${key ?? 'none'}`).to.equal(401);
      }
    }
  });

  it('a `serve` runtime without the service key or a needed peer URL does not start', async () => {
    const port = await freePort();
    const noKey = await startRuntime({ config: await config(port), logger, services: ['mc'] }).catch(
      (e: unknown) => e,
    );
    expect(noKey).to.be.instanceOf(ConfigError);
    expect((noKey as ConfigError).variable).to.equal('NEXTAUTH_SERVICE_KEY');
    const noSfs = await startRuntime({
      config: await config(port, { NEXTAUTH_SERVICE_KEY: serviceKey, NEXTAUTH_MC_URL: url(ports.providers) }),
      logger,
      services: ['ns'],
    }).catch((e: unknown) => e);
    expect(noSfs).to.be.instanceOf(ConfigError);
    expect((noSfs as ConfigError).variable).to.equal('NEXTAUTH_SFS_URL');
  });
});
