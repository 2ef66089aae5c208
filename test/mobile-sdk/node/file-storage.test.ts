// FileStorage: JSON documents per key, private files, atomic replacement, safe key names.
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileStorage, type StorageError } from '../../../mobile-sdk/node/file-storage.js';

describe('mobile-sdk/node: FileStorage', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'nextauth-storage-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  const code = async (p: Promise<unknown>) =>
    p.then(
      () => 'none',
      (e: unknown) => (e as StorageError).code,
    );

  it('round-trips documents across instances, deletes them, and writes 0600 files', async () => {
    const a = new FileStorage(home);
    expect(await a.get('accounts')).to.equal(undefined);
    await a.set('accounts', { list: [{ id: 'x', n: 1 }], ok: true });
    expect(await new FileStorage(home).get('accounts')).to.deep.equal({
      list: [{ id: 'x', n: 1 }],
      ok: true,
    });
    expect((await stat(join(home, 'storage', 'accounts.json'))).mode & 0o777).to.equal(0o600);
    await a.delete('accounts');
    await a.delete('accounts');
    expect(await a.get('accounts')).to.equal(undefined);
  });

  it('refuses unsafe keys, oversized documents and corrupt files', async () => {
    const s = new FileStorage(home);
    for (const key of ['../x', '.hidden', 'a/b', ''])
      expect(await code(s.set(key, 1)), key).to.equal('invalid_key');
    expect(await code(s.set('big', 'x'.repeat(1024 * 1024)))).to.equal('too_large');
    await s.set('doc', 1);
    await writeFile(join(home, 'storage', 'doc.json'), '{"half":');
    expect(await code(s.get('doc'))).to.equal('corrupt');
  });

  it('never leaves a partial document under concurrent writers', async () => {
    const s = new FileStorage(home);
    const docs = Array.from({ length: 20 }, (_, i) => ({ writer: i, pad: 'y'.repeat(50_000) }));
    await Promise.all(docs.map((d) => s.set('shared', d)));
    const got = (await s.get('shared')) as { writer: number; pad: string };
    expect(got.pad.length).to.equal(50_000);
    expect(await readdir(join(home, 'storage'))).to.deep.equal(['shared.json']);
  });
});
