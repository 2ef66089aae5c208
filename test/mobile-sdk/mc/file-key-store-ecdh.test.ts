// The Node key store holds the MC mailbox key: `ecdh-p256` keys agree (and survive a reopen), but never sign.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { KeyStoreError } from '../../../mobile-sdk/core/ports.js';
import { FileKeyStore } from '../../../mobile-sdk/node/file-key-store.js';
import { publicKeyFromJwk, publicKeyToJwk } from '../../../protocol/index.js';

describe('mobile-sdk/node: FileKeyStore ecdh-p256 keys', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'nextauth-ecdh-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('agrees with a peer like WebCrypto, across a reopened store; sign is wrong_kind', async () => {
    await new FileKeyStore({ home }).generate('mc-mailbox', 'ecdh-p256');
    const store = new FileKeyStore({ home });
    const mine = publicKeyFromJwk(await store.publicJwk('mc-mailbox'));
    const peer = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
      'deriveBits',
    ])) as CryptoKeyPair;
    const peerRaw = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const myKey = await crypto.subtle.importKey(
      'raw',
      mine,
      { name: 'ECDH', namedCurve: 'P-256' },
      false,
      [],
    );
    const expected = new Uint8Array(
      await crypto.subtle.deriveBits({ name: 'ECDH', public: myKey }, peer.privateKey, 256),
    );
    expect(await store.agree('mc-mailbox', peerRaw)).to.deep.equal(expected);
    const err = await store.sign('mc-mailbox', new Uint8Array(4)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyStoreError).with.property('code', 'wrong_kind');
    await store.generate('app-instance');
    const notEcdh = await store.agree('app-instance', peerRaw).catch((e: unknown) => e);
    expect(notEcdh).to.be.instanceOf(KeyStoreError).with.property('code', 'wrong_kind');
    // The private half is sealed like every other key: not in the file in clear.
    expect(await readFile(join(home, 'keys.json'), 'utf8')).not.to.contain(publicKeyToJwk(mine).x);
  });
});
