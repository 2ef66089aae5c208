// The SDK's MC inbox against a real `/mc/mobile` endpoint: decrypts with the key-store mailbox key, hands each
// message over once however often it is delivered (pull, subscription, redelivery after a lost ack), acks
// only after handling, and drops expired ones.
import { expect } from 'chai';
import type { TransportFactory } from '../../../mobile-sdk/core/channels.js';
import { Inbox } from '../../../mobile-sdk/core/mc/inbox.js';
import type { OpenedMessage } from '../../../mobile-sdk/core/mc/session.js';
import { MAILBOX_KEY_ALIAS } from '../../../mobile-sdk/core/mc/session.js';
import { type KeyKind, KeyStoreError } from '../../../mobile-sdk/core/ports.js';
import { type Bytes, memoryTransportPair, publicKeyToJwk } from '../../../protocol/index.js';
import type { McMessage } from '../../../protocol/mobile/mc.js';
import { type Harness, postTo, startHarness } from '../../auth-server/mc/harness.js';
import { MemoryKeyStore, MemoryStorage, TestClock } from '../fakes.js';

/** The fakes' key store plus `ecdh-p256` keys and `agree`, as FileKeyStore has them. */
class EcdhMemoryKeyStore extends MemoryKeyStore {
  private readonly ecdhKeys = new Map<string, CryptoKeyPair>();
  override async generate(alias: string, kind: KeyKind = 'ecdsa-p256'): Promise<void> {
    if (kind !== 'ecdh-p256') return super.generate(alias, kind);
    if (this.ecdhKeys.has(alias)) throw new KeyStoreError('exists');
    const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, [
      'deriveBits',
    ])) as CryptoKeyPair;
    this.ecdhKeys.set(alias, pair);
  }
  override async has(alias: string) {
    return this.ecdhKeys.has(alias) || super.has(alias);
  }
  override async publicJwk(alias: string) {
    const pair = this.ecdhKeys.get(alias);
    if (!pair) return super.publicJwk(alias);
    return publicKeyToJwk(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  }
  async agree(alias: string, peer: Bytes): Promise<Bytes> {
    const pair = this.ecdhKeys.get(alias);
    if (!pair) throw new KeyStoreError('not_found', alias);
    const key = await crypto.subtle.importKey('raw', peer, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    return new Uint8Array(
      await crypto.subtle.deriveBits({ name: 'ECDH', public: key }, pair.privateKey, 256),
    );
  }
}

describe('mobile-sdk/mc: the inbox', () => {
  let h: Harness;
  let keyStore: EcdhMemoryKeyStore;
  let storage: MemoryStorage;
  let clock: TestClock;
  const inboxes: Inbox[] = [];

  beforeEach(async () => {
    h = await startHarness();
    keyStore = new EcdhMemoryKeyStore();
    storage = new MemoryStorage();
    clock = new TestClock(h.clock.now());
  });
  afterEach(async () => {
    await Promise.all(inboxes.splice(0).map((i) => i.close().catch(() => {})));
    await h.close();
  });

  const transports: TransportFactory = async () => {
    const [client, server] = memoryTransportPair();
    h.b.endpoint.accept(server, { ip: '192.0.2.9', userAgent: 'sdk-test' });
    return client;
  };

  async function openInbox(): Promise<Inbox> {
    const inbox = await Inbox.open({
      keyStore,
      storage,
      transports,
      clock,
      mc: { url: 'wss://idp.example/mc/mobile', key: publicKeyToJwk(h.mcKey) },
    });
    inboxes.push(inbox);
    return inbox;
  }

  const inTenMinutes = () => h.clock.now() + 600_000;

  it('registers the key-store mailbox key and decrypts with it; the message is acked after handling', async () => {
    const inbox = await openInbox();
    const stored = await h.a.api.instances.find(inbox.instanceId);
    expect(stored?.encryptionKey).to.deep.equal(await keyStore.publicJwk(MAILBOX_KEY_ALIAS));
    const { id } = await postTo(h.a.peer, inbox.instanceId, '{"type":"hello"}', {
      expiresAt: inTenMinutes(),
    });
    expect((await inbox.pending()).map((m) => ('payload' in m ? m.payload : m.error))).to.deep.equal([
      '{"type":"hello"}',
    ]);
    const handled: OpenedMessage[] = [];
    expect(await inbox.pull((m) => void handled.push(m))).to.deep.equal(['handled']);
    expect(handled.map((m) => [m.id, m.payload])).to.deep.equal([[id, '{"type":"hello"}']]);
    expect(await inbox.pending()).to.deep.equal([]);
  });

  it('a message delivered by pull and by the subscription at once is handled once', async () => {
    const inbox = await openInbox();
    await postTo(h.a.peer, inbox.instanceId, 'once', { expiresAt: inTenMinutes() });
    const handled: string[] = [];
    const handler = (m: OpenedMessage) => void handled.push(m.payload);
    const [pulled] = await Promise.all([inbox.pull(handler), inbox.listen(handler)]);
    // Let the subscription's push of the same pending message arrive and be processed.
    const late = await postTo(h.a.peer, inbox.instanceId, 'after', { expiresAt: inTenMinutes() });
    while (!handled.includes('after')) await new Promise((r) => setImmediate(r));
    // Whichever path opened it first handled it; the other saw a duplicate.
    expect(pulled).to.have.length(1);
    expect(pulled[0]).to.be.oneOf(['handled', 'duplicate']);
    expect(handled).to.deep.equal(['once', 'after']);
    expect(late.id).to.be.a('string');
  });

  it('a redelivery after a lost ack, even to a new session, is a duplicate and acked again', async () => {
    const first = await openInbox();
    const { id } = await postTo(h.a.peer, first.instanceId, 'only once', { expiresAt: inTenMinutes() });
    const [message] = (await h.a.api.mailbox.pull(first.instanceId)).messages as [McMessage];
    const handled: string[] = [];
    expect(await first.deliver(message, (m) => void handled.push(m.payload))).to.equal('handled');
    // The device handled it but MC redelivers it (e.g. the ack was lost): a new session on the same device.
    await h.knex('mc_messages').where({ id }).update({ acked_at: null });
    const second = await openInbox();
    expect(await second.pull((m) => void handled.push(m.payload))).to.deep.equal(['duplicate']);
    expect(handled).to.deep.equal(['only once']);
    expect((await h.a.api.mailbox.pull(first.instanceId)).messages).to.deep.equal([]);
  });

  it('a handler that throws leaves the message in the mailbox for the next try', async () => {
    const inbox = await openInbox();
    await postTo(h.a.peer, inbox.instanceId, 'retry me', { expiresAt: inTenMinutes() });
    const failed = await inbox
      .pull(() => {
        throw new Error('app crashed');
      })
      .then(
        () => 'resolved',
        (err: Error) => err.message,
      );
    expect(failed).to.equal('app crashed');
    const handled: string[] = [];
    expect(await inbox.pull((m) => void handled.push(m.payload))).to.deep.equal(['handled']);
    expect(handled).to.deep.equal(['retry me']);
  });

  it('an expired message is never handed over', async () => {
    const inbox = await openInbox();
    await postTo(h.a.peer, inbox.instanceId, 'too late', { expiresAt: h.clock.now() + 1000 });
    const [message] = (await h.a.api.mailbox.pull(inbox.instanceId)).messages as [McMessage];
    clock.ms += 1000;
    const handled: string[] = [];
    expect(await inbox.deliver(message, (m) => void handled.push(m.payload))).to.equal('expired');
    expect(handled).to.deep.equal([]);
  });
});
