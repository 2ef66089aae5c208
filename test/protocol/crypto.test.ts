// ecdsaVerify keeps imported verify keys per SubtleCrypto: same answers, one import per key, failures not kept.
import { expect } from 'chai';
import { type CryptoProvider, ecdsaSign, ecdsaVerify, maxCachedVerifyKeys } from '../../protocol/crypto.js';

const real = globalThis.crypto.subtle;
const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A provider over the real WebCrypto that counts key imports. */
function countingProvider() {
  const counts = { imports: 0 };
  const subtle = {
    importKey: (...args: Parameters<SubtleCrypto['importKey']>) => {
      counts.imports++;
      return real.importKey(...args);
    },
    verify: (...args: Parameters<SubtleCrypto['verify']>) => real.verify(...args),
    sign: (...args: Parameters<SubtleCrypto['sign']>) => real.sign(...args),
  } as unknown as SubtleCrypto;
  const c: CryptoProvider = {
    subtle,
    random: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
  };
  return { c, counts };
}

async function keyPair() {
  const pair = (await real.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { pair, raw: new Uint8Array(await real.exportKey('raw', pair.publicKey)) };
}

describe('protocol/crypto: ecdsaVerify', () => {
  const data = new TextEncoder().encode('transcript bytes');

  it('imports a public key once and keeps answering exactly as before', async () => {
    const { c, counts } = countingProvider();
    const { pair, raw } = await keyPair();
    const sig = await ecdsaSign(c, pair.privateKey, data);
    expect(await ecdsaVerify(c, raw, sig, data)).to.equal(true);
    expect(await ecdsaVerify(c, raw, sig, data)).to.equal(true);
    const tampered = sig.slice();
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    expect(await ecdsaVerify(c, raw, tampered, data)).to.equal(false);
    expect(await ecdsaVerify(c, raw, sig, new TextEncoder().encode('other bytes'))).to.equal(false);
    expect(counts.imports).to.equal(1);
    // Another key is another entry; a signature by one key never verifies under the other.
    const other = await keyPair();
    expect(await ecdsaVerify(c, other.raw, sig, data)).to.equal(false);
    expect(counts.imports).to.equal(2);
  });

  it('does not keep a key that failed to import', async () => {
    const { c, counts } = countingProvider();
    const { raw } = await keyPair();
    const offCurve = raw.slice();
    offCurve[40] = (offCurve[40] ?? 0) ^ 1;
    const sig = new Uint8Array(64).fill(1);
    await ecdsaVerify(c, offCurve, sig, data).then(
      () => expect.fail('an off-curve key must not import'),
      () => {},
    );
    await ecdsaVerify(c, offCurve, sig, data).then(
      () => expect.fail('an off-curve key must not import'),
      () => {},
    );
    expect(counts.imports).to.equal(2);
  });

  it(`keeps at most ${maxCachedVerifyKeys} keys, dropping the least recently used`, async () => {
    const { c, counts } = countingProvider();
    const first = await keyPair();
    const firstSig = await ecdsaSign(c, first.pair.privateKey, data);
    expect(await ecdsaVerify(c, first.raw, firstSig, data)).to.equal(true);
    const second = await keyPair();
    const secondSig = await ecdsaSign(c, second.pair.privateKey, data);
    expect(await ecdsaVerify(c, second.raw, secondSig, data)).to.equal(true);
    for (let i = 0; i < maxCachedVerifyKeys - 2; i++) {
      const { raw } = await keyPair();
      await ecdsaVerify(c, raw, firstSig, data);
      // Using `first` now and then keeps it.
      if (i % 100 === 0) await ecdsaVerify(c, first.raw, firstSig, data);
    }
    expect(counts.imports).to.equal(maxCachedVerifyKeys);
    // One more key: `second` (least recently used) goes, `first` stays.
    await ecdsaVerify(c, (await keyPair()).raw, firstSig, data);
    expect(await ecdsaVerify(c, first.raw, firstSig, data)).to.equal(true);
    expect(counts.imports).to.equal(maxCachedVerifyKeys + 1);
    expect(await ecdsaVerify(c, second.raw, secondSig, data)).to.equal(true);
    expect(counts.imports).to.equal(maxCachedVerifyKeys + 2);
  });
});
