// Encodings of the channel (docs/protocol.md §3): strict base64url, u64 big-endian, constant-time compare.
import { expect } from 'chai';
import { b64u, equalBytes, fromB64u, fromHex, hex, readU64be, writeU64be } from '../../protocol/encoding.js';
import { isUncompressedPoint } from '../../protocol/keys.js';

describe('protocol/encoding', () => {
  it('base64url round-trips every length and matches Node', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = b64u(bytes);
      expect(text).to.equal(Buffer.from(bytes).toString('base64url'));
      expect(hex(fromB64u(text))).to.equal(hex(bytes));
    }
  });

  it('base64url decoding is strict: padding, foreign characters, bad length, non-canonical bits', () => {
    for (const bad of ['AA==', 'A', 'AB+C', 'AB/C', 'AB C', 'AÄ'])
      expect(() => fromB64u(bad), bad).to.throw();
    expect(() => fromB64u('AB')).to.throw('non-canonical');
    expect(hex(fromB64u('AA'))).to.equal('00');
  });

  it('u64 big-endian up to 2^53 - 1; larger values read as Infinity', () => {
    const b = new Uint8Array(8);
    for (const n of [0, 1, 255, 2 ** 32, 2 ** 32 + 5, 2 ** 53 - 1]) {
      writeU64be(b, 0, n);
      expect(readU64be(b, 0)).to.equal(n);
    }
    expect(readU64be(fromHex('ffffffffffffffff'), 0)).to.equal(Number.POSITIVE_INFINITY);
  });

  it('equalBytes and point shape checks', () => {
    expect(equalBytes(fromHex('0102'), fromHex('0102'))).to.equal(true);
    expect(equalBytes(fromHex('0102'), fromHex('0103'))).to.equal(false);
    expect(equalBytes(fromHex('01'), fromHex('0102'))).to.equal(false);
    expect(isUncompressedPoint(new Uint8Array(65).fill(4))).to.equal(true);
    expect(isUncompressedPoint(new Uint8Array(33).fill(2))).to.equal(false);
  });
});
