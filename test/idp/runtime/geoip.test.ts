// NEXTAUTH_GEOIP_DB at start-up: a usable file is opened once and announced; a missing or damaged one stops
// start-up (runtime and `nextauth start`) with one line naming the variable, before anything listens.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../auth-server/common/config/index.js';
import { startRuntime } from '../../../idp/runtime/runtime.js';
import { captureLogs, testDatabase } from '../../auth-server/common/geoip/fixtures.js';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/http.js';

describe('idp/runtime: NEXTAUTH_GEOIP_DB', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-geoip-rt-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  async function config(geoipDb: string) {
    const [port, adminPort] = [await freePort(), await freePort()];
    return loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(adminPort),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_GEOIP_DB: geoipDb,
      },
      { mode: 'embedded' },
    );
  }

  it('opens a usable database once and says which (no addresses in the log)', async () => {
    const path = join(dataDir, 'GeoLite2-City.mmdb');
    await writeFile(path, testDatabase());
    const logs = captureLogs();
    const runtime = await startRuntime({
      config: await config(path),
      logger: logs.logger,
      services: ['ns', 'sfs'],
    });
    try {
      const loaded = logs.lines().filter((l) => l.msg === 'geoip database loaded');
      expect(loaded).to.have.lengthOf(1);
      expect(loaded[0]).to.include({ database: 'GeoLite2-City', builtAt: '2026-01-01T00:00:00.000Z' });
    } finally {
      await runtime.close();
    }
  });

  it('a missing file: ConfigError naming NEXTAUTH_GEOIP_DB, and nothing was started', async () => {
    const missing = join(dataDir, 'missing.mmdb');
    const c = await config(missing);
    const err = await startRuntime({ config: c, logger: captureLogs().logger, services: ['ns', 'sfs'] }).then(
      () => {
        throw new Error('expected start-up to fail');
      },
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).message).to.equal(
      `NEXTAUTH_GEOIP_DB: ${missing}: cannot read the file (ENOENT)`,
    );
    // Nothing listens on the ports it would have used.
    const res = await fetch(`http://127.0.0.1:${c.port}/`).catch((e: Error) => e);
    expect(res).to.be.instanceOf(Error);
  });

  it('only NS reads it: `serve sfs`-like runtimes ignore the setting', async () => {
    const c = await config(join(dataDir, 'missing.mmdb'));
    const runtime = await startRuntime({ config: c, logger: captureLogs().logger, services: ['sfs'] });
    await runtime.close();
  });

  it('`nextauth start` with a damaged file exits 2 with one line on stderr', async () => {
    const path = join(dataDir, 'broken.mmdb');
    await writeFile(path, 'this is not a MaxMind DB file\n');
    const r = await runCli('idp/admin/cli/main.ts', ['start'], {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PORT: String(await freePort()),
      NEXTAUTH_ADMIN_PORT: String(await freePort()),
      NEXTAUTH_HOST: '127.0.0.1',
      NEXTAUTH_GEOIP_DB: path,
    });
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.lengthOf(1);
    expect(r.stderr).to.equal(
      `nextauth: NEXTAUTH_GEOIP_DB: ${path}: not a MaxMind DB file (no metadata section)\n`,
    );
  });
});
