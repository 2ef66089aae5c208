// `/sfs/mobile` biometric messages over a real secure channel: bio.register / bio.challenge / attest (bio) /
// bio.remove, and the refusals an app sees as message errors, with the SFS tables unchanged by them.
import { webcrypto } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import { verifyAttestation } from '../../../../auth-server/common/attestation/verify.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { MessageError } from '../../../../protocol/index.js';
import type { PublicJwk } from '../../../../protocol/keys.js';
import { nsServerId } from '../../../../protocol/mobile/common.js';
import { bioSignedData } from '../../../../protocol/mobile/sfs.js';
import { pinProof, rejection, snapshot } from '../fixtures.js';
import { type Harness, openChannel, type SfsChannel, startHarness } from './harness.js';

const serverId = nsServerId('https://ns.example', 'acme');
const right = pinProof('123456');
const wrong = pinProof('000000');

async function bioKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return {
    publicJwk: { kty, crv, x, y } as PublicJwk,
    sign: async (data: Uint8Array) =>
      Buffer.from(
        await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey as CryptoKey, data),
      ).toString('base64url'),
  };
}

async function messageError(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(MessageError);
  expect((err as MessageError).code).to.equal(code);
}

describe('sfs/mobile: biometric messages', () => {
  let h: Harness;
  let c: SfsChannel;
  let instanceId: string;
  let challenge: string;

  beforeEach(async () => {
    h = await startHarness();
    ({ channel: c } = await openChannel(h));
    ({ instanceId } = await c.request('instance.register', {}));
    await c.request('pin.set', { pinProof: right });
    await h.api.servers.create({ id: serverId });
    challenge = await attestationChallenge({
      serverId,
      accountKeyThumbprint: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
      transcriptHash: new Uint8Array(32).fill(7),
      purpose: 'login',
    });
  });
  afterEach(async () => {
    await c.close().catch(() => {});
    await h.close();
  });

  async function bioAttest(sign: (d: Uint8Array) => Promise<string>) {
    const { nonce } = await c.request('bio.challenge', {});
    const signature = await sign(bioSignedData({ nonce, serverId, challenge }));
    return { serverId, challenge, method: 'bio' as const, nonce, signature };
  }

  it('registers behind the PIN, then attests with the biometric key (method bio)', async () => {
    const key = await bioKey();
    expect(
      await c.request('bio.register', { serverId, pinProof: right, publicJwk: key.publicJwk }),
    ).to.deep.equal({
      ok: true,
    });
    const res = await c.request('attest', await bioAttest(key.sign));
    if (!res.ok) throw new Error(res.error);
    const claims = await verifyAttestation(res.attestation, {
      sfsPublicKeys: await h.api.publicKeys(),
      expectedAudience: serverId,
      expectedChallenge: challenge,
      expectedIssuer: h.api.issuer,
      expectedSubject: instanceId,
      clock: h.clock,
      consume: async () => true,
    });
    expect(claims.method).to.equal('bio');
  });

  it('a wrong PIN at bio.register is a pin_invalid result and stores no key', async () => {
    const key = await bioKey();
    const res = await c.request('bio.register', { serverId, pinProof: wrong, publicJwk: key.publicJwk });
    expect(res).to.deep.equal({ ok: false, error: 'pin_invalid', attemptsLeft: 4 });
    expect(await h.knex('sfs_bio_keys').select('*')).to.deep.equal([]);
  });

  it('refusals are message errors and leave the tables as they were', async () => {
    const key = await bioKey();
    // Unknown key: nothing registered yet.
    await messageError(c.request('bio.challenge', {}), 'bio_not_registered');
    await c.request('bio.register', { serverId, pinProof: right, publicJwk: key.publicJwk });
    const request = await bioAttest(key.sign);
    const stranger = await bioKey();
    const forged = {
      ...request,
      signature: await stranger.sign(bioSignedData({ nonce: request.nonce, serverId, challenge })),
    };
    let before = await snapshot(h.knex);
    await messageError(c.request('attest', forged), 'bio_signature_invalid');
    expect(await snapshot(h.knex)).to.deep.equal(before);
    await c.request('attest', request);
    before = await snapshot(h.knex);
    // Replayed: the nonce was used.
    await messageError(c.request('attest', request), 'bio_challenge_invalid');
    expect(await snapshot(h.knex)).to.deep.equal(before);
    // Malformed signature: refused by the message schema before any handler runs.
    await messageError(c.request('attest', { ...request, signature: 'short' }), 'bad_request');
  });

  it('bio.remove forgets the key: an outstanding nonce and the key are refused afterwards', async () => {
    const key = await bioKey();
    await c.request('bio.register', { serverId, pinProof: right, publicJwk: key.publicJwk });
    const request = await bioAttest(key.sign);
    expect(await c.request('bio.remove', {})).to.deep.equal({ ok: true, removed: true });
    expect(await c.request('bio.remove', {})).to.deep.equal({ ok: true, removed: false });
    await messageError(c.request('attest', request), 'bio_not_registered');
  });
});
