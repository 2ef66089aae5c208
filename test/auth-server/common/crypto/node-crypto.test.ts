// node:crypto primitives agree with WebCrypto byte for byte (each direction) and refuse what WebCrypto refuses.
import { expect } from 'chai';
import { nodePrimitives as n } from '../../../../auth-server/common/crypto/node-crypto.js';
import { ECDH_P256, ECDSA_P256, webCrypto } from '../../../../protocol/crypto.js';
import { hex, utf8 } from '../../../../protocol/encoding.js';

const subtle = globalThis.crypto.subtle;
const rand = (len: number) => globalThis.crypto.getRandomValues(new Uint8Array(len));
const data = utf8('what the channel protects');

describe('auth-server/common/crypto/node-crypto', () => {
  it('SHA-256, HMAC-SHA256 and HKDF-SHA256 equal WebCrypto', async () => {
    const key = rand(32);
    const salt = rand(32);
    const info = utf8('nextauth-channel/1 handshake');
    expect(hex(n.sha256(data))).to.equal(hex(new Uint8Array(await subtle.digest('SHA-256', data))));
    const hmacKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(hex(n.hmacSha256(key, data))).to.equal(
      hex(new Uint8Array(await subtle.sign('HMAC', hmacKey, data))),
    );
    const ikm = await subtle.importKey('raw', key, 'HKDF', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, ikm, 120 * 8);
    expect(hex(n.hkdfSha256(key, salt, info, 120))).to.equal(hex(new Uint8Array(bits)));
  });

  it('ECDH: a native pair and a WebCrypto pair reach the same secret', async () => {
    const mine = n.ecdhKeyPair();
    const theirs = (await subtle.generateKey(ECDH_P256, true, ['deriveBits'])) as CryptoKeyPair;
    const theirRaw = new Uint8Array(await subtle.exportKey('raw', theirs.publicKey));
    const myPublic = await subtle.importKey('raw', mine.publicRaw, ECDH_P256, false, []);
    const expected = await subtle.deriveBits({ name: 'ECDH', public: myPublic }, theirs.privateKey, 256);
    expect(mine.publicRaw).to.have.length(65);
    expect(hex(mine.agree(theirRaw))).to.equal(hex(new Uint8Array(expected)));
  });

  it('ECDH refuses a point off the curve and a malformed one', () => {
    const pair = n.ecdhKeyPair();
    const other = n.ecdhKeyPair().publicRaw.slice();
    other[40] = (other[40] as number) ^ 1;
    expect(() => pair.agree(other)).to.throw();
    expect(() => pair.agree(rand(33))).to.throw();
  });

  it('ECDSA: native signatures verify in WebCrypto and the other way round (r ‖ s)', async () => {
    const pair = (await subtle.generateKey(ECDSA_P256, false, ['sign', 'verify'])) as CryptoKeyPair;
    const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    const sig = n.ecdsaSign(pair.privateKey, data);
    expect(sig).to.have.length(64);
    const alg = { name: 'ECDSA', hash: 'SHA-256' } as const;
    expect(await subtle.verify(alg, pair.publicKey, sig, data)).to.equal(true);
    const webSig = new Uint8Array(await subtle.sign(alg, pair.privateKey, data));
    const key = n.importVerifyKey(raw);
    expect(n.ecdsaVerify(key, webSig, data)).to.equal(true);
    expect(n.ecdsaVerify(key, webSig, utf8('something else'))).to.equal(false);
    const flipped = webSig.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(n.ecdsaVerify(key, flipped, data)).to.equal(false);
  });

  it('ECDSA refuses keys of another kind and public keys off the curve', async () => {
    const hmac = await subtle.importKey('raw', rand(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(() => n.ecdsaSign(hmac, data)).to.throw(TypeError);
    const pair = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
    expect(() => n.ecdsaSign(pair.publicKey, data)).to.throw(TypeError);
    const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    raw[40] = (raw[40] as number) ^ 1;
    expect(() => n.importVerifyKey(raw)).to.throw();
    expect(() => n.importVerifyKey(raw.subarray(0, 33))).to.throw(TypeError);
  });

  for (const length of [16, 32]) {
    it(`AES-${length * 8}-GCM round-trips with WebCrypto and fails on any change`, async () => {
      const key = rand(length);
      const nonce = rand(12);
      const aad = rand(9);
      const sealed = n.aesGcmEncrypt(key, nonce, aad, data);
      const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
      const gcm = { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 } as const;
      expect(hex(new Uint8Array(await subtle.encrypt(gcm, k, data)))).to.equal(hex(sealed));
      expect(hex(n.aesGcmDecrypt(key, nonce, aad, sealed))).to.equal(hex(data));
      for (const i of [0, sealed.length - 1]) {
        const bad = sealed.slice();
        bad[i] = (bad[i] as number) ^ 1;
        expect(() => n.aesGcmDecrypt(key, nonce, aad, bad)).to.throw();
      }
      expect(() => n.aesGcmDecrypt(key, nonce, rand(9), sealed)).to.throw();
      expect(() => n.aesGcmDecrypt(key, nonce, aad, sealed.subarray(0, 15))).to.throw(RangeError);
      expect(() => n.aesGcmEncrypt(rand(24), nonce, aad, data)).to.throw(RangeError);
    });
  }

  it('results are arrays of their own, not views into a shared pool', () => {
    const out = n.sha256(data);
    expect(out.byteOffset).to.equal(0);
    expect(out.buffer.byteLength).to.equal(32);
    expect(webCrypto().native).to.equal(undefined);
  });
});
