// `/mc/mobile` driven by real secure-channel clients: registration, pull, ack, subscription (also across MC
// instances over the shared KV bus), expiry, duplicates, and every rejection path leaving the state unchanged.
import { expect } from 'chai';
import { McError } from '../../../auth-server/mc/errors.js';
import { fromUtf8, utf8 } from '../../../protocol/encoding.js';
import { ChannelError, MessageError, thumbprint } from '../../../protocol/index.js';
import type { McMessage } from '../../../protocol/mobile/mc.js';
import { newMcMessageId, sealMcMessage } from '../../../protocol/mobile/mc-seal.js';
import {
  type Device,
  type Harness,
  type McChannel,
  type McNode,
  newDevice,
  openChannel,
  openOn,
  postTo,
  rejection,
  snapshot,
  startHarness,
} from './harness.js';

const minute = 60_000;

async function messageError(promise: Promise<unknown>, code: string): Promise<MessageError> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(MessageError);
  expect((err as MessageError).code).to.equal(code);
  return err as MessageError;
}

async function mcError(promise: Promise<unknown>, code: string): Promise<McError> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(McError);
  expect((err as McError).code).to.equal(code);
  return err as McError;
}

/** Resolves with the next `n` pushed messages. */
function nextPushes(channel: McChannel, n: number): Promise<McMessage[]> {
  const got: McMessage[] = [];
  return new Promise((resolve) => {
    channel.onPush('mailbox.message', (m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
  });
}

describe('mc/mobile: the /mc/mobile channel endpoint', () => {
  let h: Harness;
  const open: McChannel[] = [];

  beforeEach(async () => {
    h = await startHarness({ maxPending: 5 });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close().catch(() => {})));
    await h.close();
  });

  async function channel(device: Device, node?: McNode) {
    const { channel: c } = await openChannel(h, device, node);
    open.push(c);
    return c;
  }

  /** A device with a registered instance and its open channel. */
  async function registered(node?: McNode) {
    const device = await newDevice();
    const c = await channel(device, node);
    const { instanceId } = await c.request('instance.register', {
      encryptionKey: device.encryptionJwk,
      push: { provider: 'none' },
    });
    return { device, c, instanceId };
  }

  const inTenMinutes = () => h.clock.now() + 10 * minute;

  describe('instance.register', () => {
    it('registers the handshake key once; a new channel with the same key gets the same instance', async () => {
      const device = await newDevice();
      const first = await (await channel(device)).request('instance.register', {
        encryptionKey: device.encryptionJwk,
        push: { provider: 'none' },
      });
      const again = await (await channel(device, h.b)).request('instance.register', {
        encryptionKey: device.encryptionJwk,
        push: { provider: 'none' },
      });
      expect(again).to.deep.equal(first);
      const stored = await h.a.api.instances.findByThumbprint(await thumbprint(device.signer.publicKey));
      expect(stored?.id).to.equal(first.instanceId);
      expect(stored?.encryptionKey).to.deep.equal(device.encryptionJwk);
    });

    it('keeps the push token sealed: the row never holds it, the senders can open it', async () => {
      const device = await newDevice();
      const c = await channel(device);
      const token = 'fcm-token-abcdefghijklmnopqrstuvwxyz-0123456789';
      const { instanceId } = await c.request('instance.register', {
        encryptionKey: device.encryptionJwk,
        push: { provider: 'fcm', token },
      });
      const rows = JSON.stringify(await h.knex('mc_app_instances').select('*'));
      expect(rows).not.to.contain(token);
      expect(await h.a.api.instances.pushRegistration(instanceId)).to.deep.equal({ provider: 'fcm', token });
      // A repeated registration replaces it (the platform rotated the token, or the app turned push off).
      await c.request('instance.register', {
        encryptionKey: device.encryptionJwk,
        push: { provider: 'none' },
      });
      expect(await h.a.api.instances.pushRegistration(instanceId)).to.deep.equal({ provider: 'none' });
    });

    it('refuses an encryption key off the curve, a bad token or extra members, changing nothing', async () => {
      const device = await newDevice();
      const c = await channel(device);
      const before = await snapshot(h.knex);
      const offCurve = { ...device.encryptionJwk, y: device.encryptionJwk.x };
      await messageError(
        c.request('instance.register', { encryptionKey: offCurve, push: { provider: 'none' } }),
        'invalid_request',
      );
      await messageError(
        c.request('instance.register', {
          encryptionKey: device.encryptionJwk,
          push: { provider: 'apns', token: 'has spaces in it' },
        }),
        'bad_request',
      );
      await messageError(
        c.request('instance.register', {
          encryptionKey: device.encryptionJwk,
          push: { provider: 'none' },
          publicJwk: device.encryptionJwk,
        } as never),
        'bad_request',
      );
      expect(await snapshot(h.knex)).to.deep.equal(before);
    });

    it('concurrent registrations of one key agree on one instance', async () => {
      const device = await newDevice();
      const channels = await Promise.all([channel(device), channel(device, h.b), channel(device)]);
      const ids = await Promise.all(
        channels.map((c) =>
          c.request('instance.register', { encryptionKey: device.encryptionJwk, push: { provider: 'none' } }),
        ),
      );
      expect(new Set(ids.map((r) => r.instanceId)).size).to.equal(1);
      expect(await h.knex('mc_app_instances').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
    });
  });

  describe('channel rejections', () => {
    it('an unregistered key can neither pull, ack nor subscribe (unknown_instance)', async () => {
      const c = await channel(await newDevice());
      await messageError(c.request('mailbox.pull', {}), 'unknown_instance');
      await messageError(c.request('mailbox.ack', { ids: [newMcMessageId()] }), 'unknown_instance');
      await messageError(c.request('mailbox.subscribe', {}), 'unknown_instance');
    });

    it('an anonymous client is refused in the handshake, another target is unknown_target', async () => {
      const device = await newDevice();
      const anonymous = await rejection(openChannel(h, device, h.a, { identity: null }));
      expect(anonymous).to.be.instanceOf(ChannelError).with.property('code', 'bad_client_key');
      const other = await rejection(
        openChannel(h, device, h.a, { target: { kind: 'mc', id: 'other.example:mc' } }),
      );
      expect(other).to.be.instanceOf(ChannelError).with.property('code', 'unknown_target');
      const sfs = await rejection(
        openChannel(h, device, h.a, { target: { kind: 'sfs', id: await h.a.api.channelId } }),
      );
      expect(sfs).to.be.instanceOf(ChannelError).with.property('code', 'unknown_target');
    });

    it('a malformed envelope closes the channel with malformed; a bad body is bad_request', async () => {
      const { c, instanceId } = await registered();
      await postTo(h.a.peer, instanceId, 'hello', { expiresAt: inTenMinutes() });
      const before = await snapshot(h.knex);
      await messageError(c.request('mailbox.pull', { limit: 51 }), 'bad_request');
      await messageError(c.request('mailbox.ack', { ids: [] }), 'bad_request');
      await messageError(c.request('mailbox.ack', { ids: ['not-an-id'] }), 'bad_request');
      await c.session.send(utf8('{"t":"req","id":"x"'));
      const closed = await c.closed;
      expect(closed?.code).to.equal('malformed');
      expect(await snapshot(h.knex)).to.deep.equal(before);
    });
  });

  describe('pull and ack', () => {
    it('delivers what NS sealed; only the device key opens it and MC stores no plaintext', async () => {
      const { device, c, instanceId } = await registered();
      const secret = 'login request 7f3a: approve with number 42';
      const { id } = await postTo(h.a.peer, instanceId, secret, { expiresAt: inTenMinutes() });
      const rows = await h.knex('mc_messages').select('*');
      expect(rows).to.have.length(1);
      expect(JSON.stringify(rows)).not.to.contain('approve with number');
      expect(JSON.stringify(rows)).not.to.contain(Buffer.from(secret).toString('base64url').slice(0, 20));

      const { messages, more } = await c.request('mailbox.pull', {});
      expect(more).to.equal(false);
      expect(messages.map((m) => m.id)).to.deep.equal([id]);
      const [message] = messages as [McMessage];
      expect(await openOn(device, instanceId, message.sealed, h.clock.now())).to.equal(secret);
      // Another device's key (same instance id claimed) cannot open it.
      const thief = await newDevice();
      const stolen = await rejection(
        openOn({ ...thief, encryptionJwk: device.encryptionJwk }, instanceId, message.sealed, h.clock.now()),
      );
      expect(stolen).to.have.property('code', 'decrypt_failed');
      expect((await h.knex('mc_messages').first()).delivered_at).not.to.equal(null);

      expect(await c.request('mailbox.ack', { ids: [id] })).to.deep.equal({ acked: 1 });
      expect(await c.request('mailbox.ack', { ids: [id] })).to.deep.equal({ acked: 0 });
      expect((await c.request('mailbox.pull', {})).messages).to.deep.equal([]);
    });

    it('pulls in order after a cursor, in pages', async () => {
      const { c, instanceId } = await registered();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++)
        ids.push((await postTo(h.a.peer, instanceId, `m${i}`, { expiresAt: inTenMinutes() })).id);
      const first = await c.request('mailbox.pull', { limit: 3 });
      expect(first.more).to.equal(true);
      expect(first.messages.map((m) => m.id)).to.deep.equal(ids.slice(0, 3));
      const rest = await c.request('mailbox.pull', { after: first.messages[2]?.cursor ?? '' });
      expect(rest.messages.map((m) => m.id)).to.deep.equal(ids.slice(3));
      expect(rest.more).to.equal(false);
    });

    it("an instance never sees or acks another instance's messages", async () => {
      const alice = await registered();
      const mallory = await registered();
      const { id } = await postTo(h.a.peer, alice.instanceId, 'for alice', { expiresAt: inTenMinutes() });
      expect((await mallory.c.request('mailbox.pull', {})).messages).to.deep.equal([]);
      const before = await snapshot(h.knex);
      expect(await mallory.c.request('mailbox.ack', { ids: [id] })).to.deep.equal({ acked: 0 });
      expect(await snapshot(h.knex)).to.deep.equal(before);
      expect((await alice.c.request('mailbox.pull', {})).messages.map((m) => m.id)).to.deep.equal([id]);
    });

    it('racing acks of one message from two channels count it once', async () => {
      const { device, instanceId } = await registered();
      const { id } = await postTo(h.a.peer, instanceId, 'once', { expiresAt: inTenMinutes() });
      const channels = await Promise.all([channel(device), channel(device, h.b), channel(device)]);
      const results = await Promise.all(channels.map((c) => c.request('mailbox.ack', { ids: [id] })));
      expect(results.reduce((n, r) => n + r.acked, 0)).to.equal(1);
    });

    it('a newer message with the same collapse id replaces the pending one', async () => {
      const { c, instanceId } = await registered();
      await postTo(h.a.peer, instanceId, 'old', { expiresAt: inTenMinutes(), collapseId: 'login:abc' });
      const { id } = await postTo(h.a.peer, instanceId, 'new', {
        expiresAt: inTenMinutes(),
        collapseId: 'login:abc',
      });
      expect((await c.request('mailbox.pull', {})).messages.map((m) => m.id)).to.deep.equal([id]);
    });
  });

  describe('expiry', () => {
    it('an expired message is never delivered, and the sweep removes it and acked ones', async () => {
      const { c, instanceId } = await registered();
      const short = await postTo(h.a.peer, instanceId, 'short', { expiresAt: h.clock.now() + minute });
      const long = await postTo(h.a.peer, instanceId, 'long', { expiresAt: inTenMinutes() });
      const acked = await postTo(h.a.peer, instanceId, 'acked', { expiresAt: inTenMinutes() });
      await c.request('mailbox.ack', { ids: [acked.id] });
      h.clock.advance(minute);
      // Due now: no longer delivered, even before any sweep.
      expect((await c.request('mailbox.pull', {})).messages.map((m) => m.id)).to.deep.equal([long.id]);
      h.clock.advance(1);
      expect(await h.a.api.mailbox.sweep()).to.equal(2);
      expect((await h.knex('mc_messages').pluck('id')) as string[]).to.deep.equal([long.id]);
      expect(short.id).to.be.a('string');
    });
  });

  describe('posting (the NS side) refuses, changing nothing', () => {
    it('unknown instance, foreign recipient, bad expiry, oversize, malformed, duplicate, full mailbox', async () => {
      const { instanceId, device } = await registered();
      const other = await registered();
      const { id } = await postTo(h.a.peer, instanceId, 'first', { expiresAt: inTenMinutes() });
      const before = await snapshot(h.knex);
      const seal = (overrides: { instanceId?: string; expiresAt?: number; id?: string } = {}) =>
        sealMcMessage({
          recipientKey: device.encryptionJwk,
          instanceId: overrides.instanceId ?? instanceId,
          id: overrides.id ?? newMcMessageId(),
          expiresAt: overrides.expiresAt ?? inTenMinutes(),
          plaintext: 'x',
        });
      await mcError(
        h.a.peer.post({
          instanceId: 'no-such-instance',
          sealed: await seal({ instanceId: 'no-such-instance' }),
        }),
        'unknown_instance',
      );
      await mcError(h.a.peer.post({ instanceId: other.instanceId, sealed: await seal() }), 'wrong_recipient');
      await mcError(
        h.a.peer.post({ instanceId, sealed: await seal({ expiresAt: h.clock.now() }) }),
        'invalid_expiry',
      );
      await mcError(
        h.a.peer.post({
          instanceId,
          sealed: await seal({ expiresAt: h.clock.now() + 8 * 24 * 60 * minute }),
        }),
        'invalid_expiry',
      );
      await mcError(h.a.peer.post({ instanceId, sealed: `nxm1.${'A'.repeat(9000)}` }), 'message_too_large');
      await mcError(h.a.peer.post({ instanceId, sealed: 'nxm1.not.sealed.atall' }), 'invalid_request');
      await mcError(
        h.a.peer.post({ instanceId, sealed: await seal(), collapseId: 'bad id!' }),
        'invalid_request',
      );
      // A replayed post (same id, even re-sealed) is refused: the id is what the device de-duplicates by.
      await mcError(h.a.peer.post({ instanceId, sealed: await seal({ id }) }), 'duplicate_message');
      expect(await snapshot(h.knex)).to.deep.equal(before);

      for (let i = 0; i < 4; i++) await postTo(h.a.peer, instanceId, `m${i}`, { expiresAt: inTenMinutes() });
      const full = await snapshot(h.knex);
      await mcError(h.a.peer.post({ instanceId, sealed: await seal() }), 'mailbox_full');
      expect(await snapshot(h.knex)).to.deep.equal(full);
    });

    it('a sealed header MC altered (id, instance or expiry) no longer opens on the device', async () => {
      const { device, instanceId } = await registered();
      const sealed = await sealMcMessage({
        recipientKey: device.encryptionJwk,
        instanceId,
        id: newMcMessageId(),
        expiresAt: inTenMinutes(),
        plaintext: 'bound',
      });
      const [tag, header, iv, ct] = sealed.split('.') as [string, string, string, string];
      const decoded = JSON.parse(fromUtf8(Buffer.from(header, 'base64url'))) as Record<string, unknown>;
      const moved = Buffer.from(
        JSON.stringify({ ...decoded, exp: (decoded.exp as number) + minute }),
      ).toString('base64url');
      const err = await rejection(openOn(device, instanceId, [tag, moved, iv, ct].join('.'), h.clock.now()));
      expect(err).to.have.property('code', 'decrypt_failed');
      expect(await openOn(device, instanceId, sealed, h.clock.now())).to.equal('bound');
    });
  });

  describe('mailbox.subscribe', () => {
    it('pushes what is pending at once, then new messages as they are posted', async () => {
      const { device, c, instanceId } = await registered();
      const early = await postTo(h.a.peer, instanceId, 'early', { expiresAt: inTenMinutes() });
      const pushed = nextPushes(c, 2);
      expect(await c.request('mailbox.subscribe', {})).to.deep.equal({ ok: true });
      const late = await postTo(h.a.peer, instanceId, 'late', { expiresAt: inTenMinutes() });
      const got = await pushed;
      expect(got.map((m) => m.id)).to.deep.equal([early.id, late.id]);
      expect(await openOn(device, instanceId, got[1]?.sealed ?? '', h.clock.now())).to.equal('late');
    });

    it('a message posted on MC instance A reaches a subscriber on instance B (KV bus)', async () => {
      const { device, instanceId } = await registered(h.b);
      const onB = await channel(device, h.b);
      await onB.request('mailbox.subscribe', {});
      const pushed = nextPushes(onB, 1);
      const posted = await postTo(h.a.peer, instanceId, 'across instances', { expiresAt: inTenMinutes() });
      const [got] = await pushed;
      expect(got?.id).to.equal(posted.id);
      expect(await openOn(device, instanceId, got?.sealed ?? '', h.clock.now())).to.equal('across instances');
    });

    it('a subscriber hears only its own mailbox; closing the channel ends its bus subscription', async () => {
      const subscribe = h.a.api.mailbox.subscribe;
      let unsubscribed!: () => void;
      const ended = new Promise<void>((resolve) => {
        unsubscribed = resolve;
      });
      h.a.api.mailbox.subscribe = async (id, handler) => {
        const off = await subscribe(id, handler);
        return async () => {
          await off();
          unsubscribed();
        };
      };
      const alice = await registered();
      const bob = await registered();
      const heard: string[] = [];
      bob.c.onPush('mailbox.message', (m) => {
        heard.push(m.id);
      });
      await bob.c.request('mailbox.subscribe', {});
      const alicePushed = nextPushes(alice.c, 1);
      await alice.c.request('mailbox.subscribe', {});
      const forAlice = await postTo(h.a.peer, alice.instanceId, 'for alice', { expiresAt: inTenMinutes() });
      expect((await alicePushed).map((m) => m.id)).to.deep.equal([forAlice.id]);
      expect(heard).to.deep.equal([]);
      await bob.c.close();
      await ended;
    });
  });
});

describe('mc/mobile: the per-channel brake', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({}, 3);
  });
  afterEach(() => h.close());

  it('refuses requests beyond the limit with rate_limited, unevaluated; a new window or channel goes on', async () => {
    const device = await newDevice();
    const { channel: c } = await openChannel(h, device);
    await c.request('instance.register', { encryptionKey: device.encryptionJwk, push: { provider: 'none' } });
    await c.request('mailbox.pull', {});
    await c.request('mailbox.pull', {});
    const before = await snapshot(h.knex);
    await messageError(
      c.request('instance.register', {
        encryptionKey: device.encryptionJwk,
        push: { provider: 'fcm', token: 't' },
      }),
      'rate_limited',
    );
    expect(await snapshot(h.knex)).to.deep.equal(before);
    const { channel: other } = await openChannel(h, device);
    expect((await other.request('mailbox.pull', {})).messages).to.deep.equal([]);
    h.clock.advance(60_000);
    expect((await c.request('mailbox.pull', {})).messages).to.deep.equal([]);
    await c.close();
    await other.close();
  });
});
