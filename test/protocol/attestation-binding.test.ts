// attestationChallenge: a known answer, sensitivity to every field, unambiguous encoding, refused inputs.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { type AttestationBindingInput, attestationChallenge } from '../../protocol/attestation-binding.js';

const thumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const transcriptHash = new Uint8Array(32).fill(7);
const base: AttestationBindingInput = {
  serverId: 'srv-1',
  accountKeyThumbprint: thumbprint,
  transcriptHash,
  purpose: 'login',
};

/** The documented encoding, written independently with node:crypto. */
function reference(input: AttestationBindingInput): string {
  const lp = (b: Uint8Array) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const parts = [
    Buffer.from('nextauth-attestation-challenge-v1\0'),
    lp(Buffer.from(input.serverId)),
    lp(Buffer.from(input.accountKeyThumbprint)),
    lp(input.transcriptHash),
    lp(Buffer.from(input.purpose)),
    input.transactionDigest
      ? Buffer.concat([Buffer.from([1]), lp(input.transactionDigest)])
      : Buffer.from([0]),
  ];
  return createHash('sha256').update(Buffer.concat(parts)).digest('base64url');
}

describe('protocol/attestation-binding', () => {
  it('matches the documented encoding for login and transaction', async () => {
    expect(await attestationChallenge(base))
      .to.equal(reference(base))
      .and.match(/^[A-Za-z0-9_-]{43}$/);
    const tx = { ...base, purpose: 'transaction' as const, transactionDigest: new Uint8Array(32).fill(9) };
    expect(await attestationChallenge(tx)).to.equal(reference(tx));
    const enrol = { ...base, purpose: 'enrol' as const };
    expect(await attestationChallenge(enrol)).to.equal(reference(enrol));
  });

  it('changes with every field', async () => {
    const first = await attestationChallenge(base);
    const variants: AttestationBindingInput[] = [
      { ...base, serverId: 'srv-2' },
      { ...base, accountKeyThumbprint: `${thumbprint.slice(0, 42)}A` },
      { ...base, transcriptHash: new Uint8Array(32).fill(8) },
      { ...base, purpose: 'transaction', transactionDigest: new Uint8Array(32) },
      { ...base, purpose: 'enrol' },
    ];
    const seen = new Set([first]);
    for (const v of variants) seen.add(await attestationChallenge(v));
    expect(seen.size).to.equal(variants.length + 1);
    const d1 = { ...base, purpose: 'transaction' as const, transactionDigest: new Uint8Array(32).fill(1) };
    const d2 = { ...d1, transactionDigest: new Uint8Array(32).fill(2) };
    expect(await attestationChallenge(d1)).not.to.equal(await attestationChallenge(d2));
  });

  it('is unambiguous where plain concatenation would not be', async () => {
    // "srv-1" + "" vs "srv-" + "1…": the length prefixes keep the field boundary in the hash.
    const a = await attestationChallenge({ ...base, serverId: 'ab' });
    const b = await attestationChallenge({ ...base, serverId: 'a' });
    expect(a).not.to.equal(b);
  });

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['an empty server id', { serverId: '' }],
    ['a server id over 200 characters', { serverId: 'x'.repeat(201) }],
    ['a thumbprint that is not one', { accountKeyThumbprint: 'abc' }],
    ['a short transcript hash', { transcriptHash: new Uint8Array(31) }],
    ['an unknown purpose', { purpose: 'register' }],
    ['an enrol attestation with a digest', { purpose: 'enrol', transactionDigest: new Uint8Array(32) }],
    ['a transaction without digest', { purpose: 'transaction' }],
    ['a login with digest', { transactionDigest: new Uint8Array(32) }],
    ['a short digest', { purpose: 'transaction', transactionDigest: new Uint8Array(16) }],
  ];
  for (const [what, change] of invalid) {
    it(`refuses ${what}`, async () => {
      const input = { ...base, ...change } as AttestationBindingInput;
      let error: unknown;
      await attestationChallenge(input).catch((err: unknown) => {
        error = err;
      });
      expect(error).to.be.instanceOf(TypeError);
    });
  }
});
