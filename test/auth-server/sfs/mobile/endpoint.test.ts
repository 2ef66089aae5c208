// `/sfs/mobile` driven by a real secure-channel client: registration, PIN set/change, attestations, lockouts.
import { expect } from 'chai';
import { verifyAttestation } from '../../../../auth-server/common/attestation/verify.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import {
  ChannelError,
  generateIdentityKeyPair,
  MessageError,
  publicKeyToJwk,
  signerFromKeyPair,
  thumbprint,
} from '../../../../protocol/index.js';
import { nsServerId } from '../../../../protocol/mobile/common.js';
import { pinProof, rejection, snapshot } from '../fixtures.js';
import {
  appInstance,
  clientOver,
  type Harness,
  loopbackServer,
  openChannel,
  openLoopbackClient,
  type SfsChannel,
  startHarness,
} from './harness.js';

const serverId = nsServerId('https://ns.example', 'acme');
const right = pinProof('123456');
const wrong = pinProof('000000');
const accountThumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

async function messageError(promise: Promise<unknown>, code: string): Promise<MessageError> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(MessageError);
  expect((err as MessageError).code).to.equal(code);
  return err as MessageError;
}

async function channelError(promise: Promise<unknown>, code: string): Promise<ChannelError> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(ChannelError);
  expect((err as ChannelError).code).to.equal(code);
  return err as ChannelError;
}

const challengeFor = (transcriptHash = new Uint8Array(32).fill(7)) =>
  attestationChallenge({
    serverId,
    accountKeyThumbprint: accountThumbprint,
    transcriptHash,
    purpose: 'login',
  });

describe('sfs/mobile: the /sfs/mobile channel endpoint', () => {
  let h: Harness;
  const open: SfsChannel[] = [];

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close().catch(() => {})));
    await h.close();
  });

  async function channel(identity?: Awaited<ReturnType<typeof appInstance>>) {
    const { channel: c } = await openChannel(h, identity ? { identity } : {});
    open.push(c);
    return c;
  }

  /** A registered instance with PIN 123456, and the NS server at the SFS with `policy`. */
  async function enrolled(policy: Record<string, number> = {}) {
    const c = await channel();
    const { instanceId } = await c.request('instance.register', {});
    expect(await c.request('pin.set', { pinProof: right })).to.deep.equal({ ok: true });
    await h.api.servers.create({ id: serverId, policy });
    return { c, instanceId };
  }

  describe('instance.register', () => {
    it('registers the channel key once: the same key on the same or a new channel gets the same instance', async () => {
      const identity = await appInstance();
      const a = await channel(identity);
      const first = await a.request('instance.register', {});
      expect(first.pinSet).to.equal(false);
      expect(await a.request('instance.register', {})).to.deep.equal(first);
      const b = await channel(identity);
      expect(await b.request('instance.register', {})).to.deep.equal(first);
      const stored = await h.api.instances.get(first.instanceId);
      // Registered under the key the handshake proved, not anything the body could claim.
      expect(stored.publicJwk).to.deep.equal(publicKeyToJwk(identity.publicKey));
      expect(stored.keyThumbprint).to.equal(await thumbprint(identity.publicKey));
      const other = await (await channel()).request('instance.register', {});
      expect(other.instanceId).not.to.equal(first.instanceId);
    });

    it('refuses extra members in the body (the key comes from the handshake only)', async () => {
      const c = await channel();
      await messageError(
        c.request('instance.register', { publicJwk: {} } as unknown as Record<string, never>),
        'bad_request',
      );
    });

    it('the channel then acts for that instance without looking its key up again', async () => {
      const lookups: string[] = [];
      const find = h.api.instances.findByThumbprint;
      h.api.instances.findByThumbprint = (t) => {
        lookups.push(t);
        return find(t);
      };
      const identity = await appInstance();
      const registering = await channel(identity);
      const { instanceId } = await registering.request('instance.register', {});
      const lookupsOfRegister = lookups.length;
      await registering.request('pin.set', { pinProof: right });
      await h.api.servers.create({ id: serverId });
      const attested = await registering.request('attest', {
        serverId,
        challenge: await challengeFor(),
        method: 'pin',
        pinProof: right,
      });
      expect(attested.ok).to.equal(true);
      expect(lookups).to.have.length(lookupsOfRegister);
      // A channel that did not register finds its instance by the key once, then remembers it.
      const later = await channel(identity);
      const again = { serverId, challenge: await challengeFor(), method: 'pin' as const, pinProof: right };
      expect((await later.request('attest', again)).ok).to.equal(true);
      expect((await later.request('attest', again)).ok).to.equal(true);
      expect(lookups).to.have.length(lookupsOfRegister + 1);
      expect((await h.api.instances.findByThumbprint(await thumbprint(identity.publicKey)))?.id).to.equal(
        instanceId,
      );
    });

    it('reports pinSet once the instance has a PIN', async () => {
      const { c } = await enrolled();
      expect((await c.request('instance.register', {})).pinSet).to.equal(true);
    });
  });

  describe('pin.set', () => {
    it('needs a registered instance', async () => {
      const c = await channel();
      await messageError(c.request('pin.set', { pinProof: right }), 'unknown_instance');
    });

    it('a second pin.set is pin_already_set and changes nothing', async () => {
      const { c } = await enrolled();
      const before = await snapshot(h.knex);
      await messageError(c.request('pin.set', { pinProof: wrong }), 'pin_already_set');
      expect(await snapshot(h.knex)).to.deep.equal(before);
    });
  });

  describe('attest', () => {
    it('returns an attestation that NS verifies with the SFS public keys', async () => {
      const { c, instanceId } = await enrolled();
      const challenge = await challengeFor();
      const res = await c.request('attest', { serverId, challenge, method: 'pin', pinProof: right });
      if (!res.ok) throw new Error(`attest failed: ${res.error}`);
      expect(res.expiresAt).to.equal(h.clock.now() + 60_000);
      const claims = await verifyAttestation(res.attestation, {
        sfsPublicKeys: await h.api.publicKeys(),
        expectedAudience: serverId,
        expectedChallenge: challenge,
        expectedIssuer: h.api.issuer,
        expectedSubject: instanceId,
        clock: h.clock,
        consume: async () => true,
      });
      expect(claims).to.include({
        sub: instanceId,
        aud: serverId,
        method: 'pin',
        iss: 'https://idp.example/sfs',
      });
    });

    it('counts wrong PINs down, locks, lets the lock run out on the clock, then blocks', async () => {
      const { c } = await enrolled({ maxAttempts: 3, lockoutSeconds: 60, blockAfterLockouts: 2 });
      const challenge = await challengeFor();
      const attempt = (proof: string) =>
        c.request('attest', { serverId, challenge, method: 'pin', pinProof: proof });
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 2 });
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 1 });
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_locked', retryAfterSeconds: 60 });
      h.clock.advance(20_000);
      // Locked: not even the right PIN is evaluated.
      expect(await attempt(right)).to.deep.equal({ ok: false, error: 'pin_locked', retryAfterSeconds: 40 });
      h.clock.advance(40_000);
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 2 });
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 1 });
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_blocked' });
      h.clock.advance(86_400_000);
      expect(await attempt(right)).to.deep.equal({ ok: false, error: 'pin_blocked' });
    });

    it('a right PIN after wrong ones signs and resets the count', async () => {
      const { c } = await enrolled({ maxAttempts: 3 });
      const challenge = await challengeFor();
      const attempt = (proof: string) =>
        c.request('attest', { serverId, challenge, method: 'pin', pinProof: proof });
      await attempt(wrong);
      expect((await attempt(right)).ok).to.equal(true);
      expect(await attempt(wrong)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 2 });
    });

    it('for an unknown NS server is unknown_server, costs no attempt and changes nothing', async () => {
      const { c } = await enrolled();
      const before = await snapshot(h.knex);
      await messageError(
        c.request('attest', {
          serverId: nsServerId('https://other.example', 'x'),
          challenge: await challengeFor(),
          method: 'pin',
          pinProof: wrong,
        }),
        'unknown_server',
      );
      expect(await snapshot(h.knex)).to.deep.equal(before);
    });

    it('from an unregistered key is unknown_instance', async () => {
      await h.api.servers.create({ id: serverId });
      const c = await channel();
      await messageError(
        c.request('attest', { serverId, challenge: await challengeFor(), method: 'pin', pinProof: right }),
        'unknown_instance',
      );
    });

    it('before a PIN is set is pin_not_set', async () => {
      await h.api.servers.create({ id: serverId });
      const c = await channel();
      await c.request('instance.register', {});
      await messageError(
        c.request('attest', { serverId, challenge: await challengeFor(), method: 'pin', pinProof: right }),
        'pin_not_set',
      );
    });

    it('10 concurrent wrong PINs over one channel are counted exactly', async () => {
      const { c, instanceId } = await enrolled({ maxAttempts: 20 });
      const challenge = await challengeFor();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          c.request('attest', { serverId, challenge, method: 'pin', pinProof: wrong }),
        ),
      );
      const left = results
        .map((r) => (!r.ok && r.error === 'pin_invalid' ? r.attemptsLeft : -1))
        .sort((a, b) => a - b);
      expect(left).to.deep.equal([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      const row = await h
        .knex('sfs_pin_attempts')
        .where({ instance_id: instanceId, server_id: serverId })
        .first();
      expect(Number(row.failed_attempts)).to.equal(10);
      const instance = await h.knex('sfs_app_instances').where({ id: instanceId }).first();
      expect(Number(instance.failed_attempts)).to.equal(10);
    });

    it('the per-channel brake refuses PIN operations beyond its limit unevaluated; a new channel may go on', async () => {
      const endpoint = h.endpoint({ limit: 3 });
      const identity = await appInstance();
      const { channel: c } = await openChannel(h, { identity }, endpoint);
      open.push(c);
      await c.request('instance.register', {});
      await c.request('pin.set', { pinProof: right });
      await h.api.servers.create({ id: serverId });
      const challenge = await challengeFor();
      const attempt = (ch: SfsChannel) =>
        ch.request('attest', { serverId, challenge, method: 'pin', pinProof: wrong });
      await attempt(c);
      await attempt(c);
      const before = await snapshot(h.knex);
      await messageError(attempt(c), 'rate_limited');
      expect(await snapshot(h.knex)).to.deep.equal(before);
      const { channel: d } = await openChannel(h, { identity }, endpoint);
      open.push(d);
      expect(await attempt(d)).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 2 });
    });
  });

  describe('pin.change', () => {
    it('checks the old PIN like an attestation does, then the new PIN is the one that counts', async () => {
      const { c } = await enrolled({ maxAttempts: 5 });
      const newPin = pinProof('654321');
      expect(
        await c.request('pin.change', { serverId, oldPinProof: wrong, newPinProof: newPin }),
      ).to.deep.equal({
        ok: false,
        error: 'pin_invalid',
        attemptsLeft: 4,
      });
      expect(
        await c.request('pin.change', { serverId, oldPinProof: right, newPinProof: newPin }),
      ).to.deep.equal({
        ok: true,
      });
      const challenge = await challengeFor();
      expect(
        (await c.request('attest', { serverId, challenge, method: 'pin', pinProof: right })).ok,
      ).to.equal(false);
      expect(
        (await c.request('attest', { serverId, challenge, method: 'pin', pinProof: newPin })).ok,
      ).to.equal(true);
    });
  });

  describe('handshake', () => {
    it('refuses an anonymous client (bad_client_key)', async () => {
      await channelError(openChannel(h, { identity: null }), 'bad_client_key');
    });

    it('refuses another target id (unknown_target)', async () => {
      await channelError(
        openChannel(h, { target: { kind: 'sfs', id: 'other.example:sfs' } }),
        'unknown_target',
      );
      await channelError(
        openChannel(h, { target: { kind: 'ns', id: await h.api.channelId } }),
        'unknown_target',
      );
    });

    it('a client pinning another SFS key refuses the server (bad_server_key)', async () => {
      const stranger = await signerFromKeyPair(await generateIdentityKeyPair());
      await channelError(openChannel(h, { server: { keys: [stranger.publicKey] } }), 'bad_server_key');
    });

    it('the channel key is the attestation key: the pinned raw key is the JWK NS trusts', async () => {
      const identity = await h.api.sfsIdentity();
      const [jwk] = await h.api.publicKeys();
      expect({ x: jwk?.x, y: jwk?.y }).to.deep.equal({ x: identity.publicJwk.x, y: identity.publicJwk.y });
      expect(identity.thumbprint).to.equal(jwk?.kid);
      expect(await h.api.channelId).to.equal('idp.example:sfs');
    });
  });

  describe('over a real WebSocket (attachMobileSockets)', () => {
    it('registers, sets the PIN and gets an attestation bound to the NS challenge', async () => {
      const server = await loopbackServer(h);
      try {
        const { channel: c } = await clientOver(h, await openLoopbackClient(server.url));
        open.push(c);
        const { instanceId, pinSet } = await c.request('instance.register', {});
        expect(pinSet).to.equal(false);
        await c.request('pin.set', { pinProof: right });
        await h.api.servers.create({ id: serverId });
        const challenge = await challengeFor();
        const res = await c.request('attest', { serverId, challenge, method: 'pin', pinProof: right });
        if (!res.ok) throw new Error(`attest failed: ${res.error}`);
        const claims = await verifyAttestation(res.attestation, {
          sfsPublicKeys: await h.api.publicKeys(),
          expectedAudience: serverId,
          expectedChallenge: challenge,
          expectedSubject: instanceId,
          clock: h.clock,
          consume: async () => true,
        });
        expect(claims.sub).to.equal(instanceId);
      } finally {
        await server.close();
      }
    });

    it('an anonymous client is refused over the WebSocket too', async () => {
      const server = await loopbackServer(h);
      try {
        await channelError(
          clientOver(h, await openLoopbackClient(server.url), { identity: null }),
          'bad_client_key',
        );
      } finally {
        await server.close();
      }
    });
  });
});
