// pinProof: HMAC-SHA-256 under the device PIN key from the KeyStore, stable per instance and PIN.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ensurePinKey, PIN_KEY_ALIAS, pinProof } from '../../../mobile-sdk/core/pin.js';
import { KeyStoreError } from '../../../mobile-sdk/core/ports.js';
import { FileKeyStore } from '../../../mobile-sdk/node/file-key-store.js';

describe('mobile-sdk/core: pinProof', () => {
  let homes: string[] = [];
  const store = async () => {
    const home = await mkdtemp(join(tmpdir(), 'nextauth-pin-'));
    homes.push(home);
    return home;
  };
  afterEach(async () => {
    await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
    homes = [];
  });

  it('is stable for the same PIN, also after a restart', async () => {
    const home = await store();
    const a = new FileKeyStore({ home });
    await ensurePinKey(a);
    const proof = await pinProof(a, PIN_KEY_ALIAS, '123456');
    expect(proof).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(await pinProof(a, PIN_KEY_ALIAS, '123456')).to.equal(proof);
    await ensurePinKey(a);
    expect(await pinProof(new FileKeyStore({ home }), PIN_KEY_ALIAS, '123456')).to.equal(proof);
  });

  it('differs for another PIN and for another app instance', async () => {
    const a = new FileKeyStore({ home: await store() });
    const b = new FileKeyStore({ home: await store() });
    await Promise.all([ensurePinKey(a), ensurePinKey(b)]);
    const proof = await pinProof(a, PIN_KEY_ALIAS, '123456');
    expect(await pinProof(a, PIN_KEY_ALIAS, '123457')).not.to.equal(proof);
    expect(await pinProof(b, PIN_KEY_ALIAS, '123456')).not.to.equal(proof);
  });

  it('creates the PIN key once under concurrent setup', async () => {
    const home = await store();
    const stores = [new FileKeyStore({ home }), new FileKeyStore({ home })];
    await Promise.all([...stores, ...stores].map((s) => ensurePinKey(s)));
    const proofs = await Promise.all(stores.map((s) => pinProof(s, PIN_KEY_ALIAS, '0000')));
    expect(proofs[0]).to.equal(proofs[1]);
  });

  it('refuses a malformed PIN and a missing key (it never creates one silently)', async () => {
    const s = new FileKeyStore({ home: await store() });
    try {
      await pinProof(s, PIN_KEY_ALIAS, '1234');
      expect.fail('no error');
    } catch (err) {
      expect(err).to.be.instanceOf(KeyStoreError);
      expect((err as KeyStoreError).code).to.equal('not_found');
    }
    await ensurePinKey(s);
    for (const pin of ['123', '12a4', '', '1234567890123'])
      try {
        await pinProof(s, PIN_KEY_ALIAS, pin);
        expect.fail(`accepted ${pin}`);
      } catch (err) {
        expect(err).to.be.instanceOf(TypeError);
      }
  });
});
