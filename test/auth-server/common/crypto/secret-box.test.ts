// Secret box: round trips, fresh IVs, and every tampering, wrong key or wrong context refused.
import { expect } from 'chai';
import { open, openString, SecretBoxError, seal } from '../../../../auth-server/common/crypto/secret-box.js';

const key = 'a-secret-key-of-enough-length';
const context = 'sfs-signing-key:abc';

function refused(fn: () => unknown, code: string): void {
  expect(fn).to.throw(SecretBoxError).with.property('code', code);
}

describe('common/crypto/secret-box', () => {
  it('opens what it sealed, as bytes and as text', () => {
    const sealed = seal(key, context, '{"d":"private"}');
    expect(sealed).to.match(/^sb1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.to.contain('private');
    expect(openString(key, context, sealed)).to.equal('{"d":"private"}');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    expect([...open(key, context, seal(key, context, bytes))]).to.deep.equal([0, 1, 2, 255]);
  });

  it('uses a fresh IV each time', () => {
    expect(seal(key, context, 'x')).not.to.equal(seal(key, context, 'x'));
  });

  it('refuses another key and another context', () => {
    const sealed = seal(key, context, 'secret');
    refused(() => open('another-secret-key-of-length', context, sealed), 'secret_box_unauthentic');
    refused(() => open(key, 'sfs-signing-key:other', sealed), 'secret_box_unauthentic');
  });

  it('refuses every single-character change of IV, ciphertext and tag', () => {
    const sealed = seal(key, context, 'secret value');
    const [version, iv, body] = sealed.split('.') as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (let i = 0; i < iv.length - 1; i++)
      refused(() => open(key, context, `${version}.${flip(iv, i)}.${body}`), 'secret_box_unauthentic');
    for (let i = 0; i < body.length - 1; i++)
      refused(() => open(key, context, `${version}.${iv}.${flip(body, i)}`), 'secret_box_unauthentic');
  });

  it('refuses malformed values with a message that leaks nothing', () => {
    const sealed = seal(key, context, 'secret');
    const [, iv, body] = sealed.split('.') as [string, string, string];
    for (const bad of [
      '',
      'sb1',
      `sb2.${iv}.${body}`,
      `sb1.${iv}`,
      `sb1..${body}`,
      `sb1.${iv}.AAAA`,
      `${sealed}.x`,
    ])
      refused(() => open(key, context, bad), 'secret_box_malformed');
    try {
      open('another-secret-key-of-length', context, sealed);
    } catch (err) {
      expect((err as Error).message)
        .not.to.contain(key)
        .and.not.to.contain('secret"');
    }
  });

  it('refuses a secret key shorter than 16 characters', () => {
    expect(() => seal('short', context, 'x')).to.throw(RangeError);
  });
});
