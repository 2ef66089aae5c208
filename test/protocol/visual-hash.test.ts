// The server key's visual hash: stable for a thumbprint (app and page must agree), distinct pictures, and
// a clear refusal of anything that is not a thumbprint.
import { expect } from 'chai';
import {
  b64u,
  exportPublicKeyRaw,
  generateIdentityKeyPair,
  thumbprint,
  visualHash,
} from '../../protocol/index.js';

describe('protocol visual hash', () => {
  it('is a fixed function of the thumbprint (what page and phone compute independently)', () => {
    const fp = b64u(new Uint8Array(32).map((_, i) => i * 7));
    // bytes 00 07 0e → index 0, 0, 28, 14; bytes 15 1c → hue
    expect(visualHash(fp)).to.deep.equal({
      emoji: ['🐶', '🐶', '🐪', '🦉'],
      words: ['dog', 'dog', 'camel', 'owl'],
      color: visualHash(fp).color,
      text: 'dog · dog · camel · owl',
    });
    expect(visualHash(fp).color).to.match(/^#[0-9a-f]{6}$/);
    expect(visualHash(fp)).to.deep.equal(visualHash(fp));
  });

  it('uses 64 distinct pictures and names, so each picture carries 6 bits', () => {
    const emoji = new Set<string>();
    const words = new Set<string>();
    for (let i = 0; i < 64; i++) {
      // Walk the first picture through every index.
      const bytes = new Uint8Array(32);
      bytes[0] = i << 2;
      const h = visualHash(b64u(bytes));
      emoji.add(h.emoji[0] ?? '');
      words.add(h.words[0] ?? '');
    }
    expect(emoji.size).to.equal(64);
    expect(words.size).to.equal(64);
  });

  it('differs for different server keys', async () => {
    const texts = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const pair = await generateIdentityKeyPair();
      texts.add(visualHash(await thumbprint(await exportPublicKeyRaw(pair.publicKey))).text);
    }
    expect(texts.size).to.equal(8);
  });

  it('refuses what is not a SHA-256 thumbprint', () => {
    for (const bad of ['', 'abc', 'x'.repeat(44), `${'A'.repeat(42)}+`]) {
      expect(() => visualHash(bad), bad).to.throw(TypeError, /thumbprint/);
    }
  });
});
