// FileKeyStore: keys survive restarts, files are private, tampering and a wrong device key are clear errors.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { KeyStoreError, type KeyStoreErrorCode } from '../../../mobile-sdk/core/ports.js';
import { FileKeyStore } from '../../../mobile-sdk/node/file-key-store.js';
import { defaultCrypto, ecdsaVerify } from '../../../protocol/crypto.js';
import { fromB64u, utf8 } from '../../../protocol/encoding.js';
import { publicKeyFromJwk } from '../../../protocol/keys.js';
import { projectRoot } from '../../helpers/cli.js';

async function rejects(promise: Promise<unknown>, code: KeyStoreErrorCode): Promise<KeyStoreError> {
  try {
    await promise;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(KeyStoreError);
    expect((err as KeyStoreError).code, (err as Error).message).to.equal(code);
    return err as KeyStoreError;
  }
  throw new Error(`expected ${code}`);
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('mobile-sdk/node: FileKeyStore', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'nextauth-keys-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('signs with P-256 keys that survive a restart (a new instance on the same home)', async () => {
    const first = new FileKeyStore({ home });
    expect(first.hardwareBacked).to.equal(false);
    await first.generate('instance');
    const jwk = await first.publicJwk('instance');
    expect(Object.keys(jwk).sort()).to.deep.equal(['crv', 'kty', 'x', 'y']);

    const second = new FileKeyStore({ home });
    expect(await second.has('instance')).to.equal(true);
    expect(await second.publicJwk('instance')).to.deep.equal(jwk);
    const data = utf8('transcript');
    const sig = await second.sign('instance', data);
    expect(sig.length).to.equal(64);
    expect(await ecdsaVerify(defaultCrypto(), publicKeyFromJwk(jwk), sig, data)).to.equal(true);
  });

  it('keeps the private key out of the file in the clear', async () => {
    const store = new FileKeyStore({ home });
    await store.generate('k');
    const raw = await readFile(join(home, 'keys.json'), 'utf8');
    const { x } = await store.publicJwk('k');
    expect(raw).not.to.contain(x);
    expect(raw).not.to.contain('"d"');
  });

  it('writes keys.json and device.key with mode 0600 in a 0700 home', async () => {
    const sub = join(home, 'device');
    await new FileKeyStore({ home: sub }).generate('k');
    expect(await mode(join(sub, 'keys.json'))).to.equal(0o600);
    expect(await mode(join(sub, 'device.key'))).to.equal(0o600);
    expect(await mode(sub)).to.equal(0o700);
    expect((await readFile(join(sub, 'device.key'))).length).to.equal(32);
  });

  it('refuses duplicates, unknown aliases, bad aliases and public keys of HMAC keys', async () => {
    const store = new FileKeyStore({ home });
    await store.generate('k');
    await rejects(store.generate('k'), 'exists');
    await rejects(store.sign('missing', utf8('x')), 'not_found');
    await rejects(store.publicJwk('missing'), 'not_found');
    await rejects(store.generate('../etc'), 'invalid_alias');
    await store.generate('pin', 'hmac-sha256');
    await rejects(store.publicJwk('pin'), 'wrong_kind');
    expect((await store.sign('pin', utf8('1234'))).length).to.equal(32);
  });

  it('deletes keys, and the deletion is seen by another instance', async () => {
    const a = new FileKeyStore({ home });
    const b = new FileKeyStore({ home });
    await a.generate('k');
    await b.sign('k', utf8('x'));
    await a.delete('k');
    await a.delete('k');
    expect(await b.has('k')).to.equal(false);
    await rejects(b.sign('k', utf8('x')), 'not_found');
  });

  it('reports a tampered keys.json', async () => {
    const store = new FileKeyStore({ home });
    await store.generate('k');
    const path = join(home, 'keys.json');
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    const sealed = fromB64u(file.sealed as string);
    sealed[5] = (sealed[5] as number) ^ 1;
    await writeFile(path, JSON.stringify({ ...file, sealed: Buffer.from(sealed).toString('base64url') }));
    await rejects(new FileKeyStore({ home }).sign('k', utf8('x')), 'tampered');
    await rejects(new FileKeyStore({ home }).generate('other'), 'tampered');
    await writeFile(path, '{"not": "ours"}');
    await rejects(new FileKeyStore({ home }).has('k'), 'tampered');
  });

  it('reports a wrong or missing device.key, and never replaces it', async () => {
    await new FileKeyStore({ home }).generate('k');
    const deviceKey = join(home, 'device.key');
    await writeFile(deviceKey, Buffer.alloc(32, 7));
    await rejects(new FileKeyStore({ home }).sign('k', utf8('x')), 'wrong_device_key');
    await writeFile(deviceKey, Buffer.alloc(16, 7));
    await rejects(new FileKeyStore({ home }).has('k'), 'wrong_device_key');
    await rm(deviceKey);
    await rejects(new FileKeyStore({ home }).has('k'), 'device_key_missing');
    await rejects(new FileKeyStore({ home }).generate('other'), 'device_key_missing');
    expect(
      await stat(deviceKey).then(
        () => true,
        () => false,
      ),
    ).to.equal(false);
  });

  it('loses no key when instances in one process write concurrently', async () => {
    const stores = [new FileKeyStore({ home }), new FileKeyStore({ home }), new FileKeyStore({ home })];
    await Promise.all(
      stores.flatMap((s, n) => Array.from({ length: 10 }, (_, i) => s.generate(`k${n}-${i}`))),
    );
    const fresh = new FileKeyStore({ home });
    for (let n = 0; n < 3; n++)
      for (let i = 0; i < 10; i++) expect(await fresh.has(`k${n}-${i}`), `k${n}-${i}`).to.equal(true);
  });

  it('loses no key when processes write concurrently (lock file)', async function () {
    this.timeout(60_000);
    const writer = join(projectRoot, 'test/mobile-sdk/node/key-store-writer.ts');
    const runs = ['p0', 'p1', 'p2'].map(
      (prefix) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', writer, home, prefix, '8'], {
            stdio: 'inherit',
          });
          child.on('close', resolve);
        }),
    );
    expect(await Promise.all(runs)).to.deep.equal([0, 0, 0]);
    const store = new FileKeyStore({ home });
    for (const p of ['p0', 'p1', 'p2'])
      for (let i = 0; i < 8; i++) expect(await store.has(`${p}-${i}`), `${p}-${i}`).to.equal(true);
    expect((await readdir(home)).sort()).to.deep.equal(['device.key', 'keys.json']);
  });
});
