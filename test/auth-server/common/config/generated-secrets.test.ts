import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { systemRandom } from '../../../../auth-server/common/clock.js';
import { ensureGeneratedSecrets } from '../../../../auth-server/common/config/generated-secrets.js';
import { loadConfig } from '../../../../auth-server/common/config/index.js';

describe('config: generated secrets (embedded mode)', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-secrets-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('generates each unset secret once into a 0600 file and reuses it', async () => {
    const first = loadConfig({ NEXTAUTH_DATA_DIR: dataDir }, { mode: 'embedded' });
    await ensureGeneratedSecrets(first, systemRandom);
    expect(first.nsRootApiKey).to.match(/^[\w-]{43}$/);
    expect(first.secretKey).to.not.equal(first.pinPepper);
    const mode = (await stat(join(dataDir, 'root-api-key'))).mode & 0o777;
    expect(mode).to.equal(0o600);
    const second = loadConfig({ NEXTAUTH_DATA_DIR: dataDir }, { mode: 'embedded' });
    await ensureGeneratedSecrets(second, systemRandom);
    expect(second.nsRootApiKey).to.equal(first.nsRootApiKey);
    expect(second.pinPepper).to.equal(first.pinPepper);
  });

  it('leaves configured secrets alone and writes no file for them', async () => {
    const config = loadConfig(
      { NEXTAUTH_DATA_DIR: dataDir, NEXTAUTH_SFS_PIN_PEPPER: 'p'.repeat(32) },
      { mode: 'embedded' },
    );
    await ensureGeneratedSecrets(config, systemRandom);
    expect(config.pinPepper).to.equal('p'.repeat(32));
    await stat(join(dataDir, 'pin-pepper')).then(
      () => expect.fail('pin-pepper file written'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
    );
  });

  it('agrees on one value when raced by concurrent starts', async () => {
    const configs = Array.from({ length: 8 }, () =>
      loadConfig({ NEXTAUTH_DATA_DIR: dataDir }, { mode: 'embedded' }),
    );
    await Promise.all(configs.map((c) => ensureGeneratedSecrets(c, systemRandom)));
    const onDisk = (await readFile(join(dataDir, 'secret-key'), 'utf8')).trim();
    expect(new Set(configs.map((c) => c.secretKey))).to.deep.equal(new Set([onDisk]));
  });

  it('refuses a truncated secret file instead of using it', async () => {
    await writeFile(join(dataDir, 'secret-key'), 'short\n', { mode: 0o600 });
    const config = loadConfig({ NEXTAUTH_DATA_DIR: dataDir }, { mode: 'embedded' });
    await ensureGeneratedSecrets(config, systemRandom).then(
      () => expect.fail('accepted a short secret'),
      (err: Error) => expect(err.message).to.contain('holds no usable secret'),
    );
  });
});
