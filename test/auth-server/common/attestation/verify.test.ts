// NS-side attestation checks: each rejection has its code and consumes nothing; one-time use under concurrency.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { AttestationError } from '../../../../auth-server/common/attestation/format.js';
import {
  kvJtiConsumer,
  type VerifyAttestationOptions,
  verifyAttestation,
} from '../../../../auth-server/common/attestation/verify.js';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import type { Kv } from '../../../../auth-server/common/kv/kv.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { RedisKv } from '../../../../auth-server/common/kv/redis.js';
import { requireService } from '../../../helpers/services.js';
import { deleteKeys, probeRedis } from '../kv/redis-service.js';

const challenge = 'q1Yh3Hc5bG4cV0v0Vv3Zf0m7lVgkqzv3h0CwY3q8JkA';
const t0 = Date.UTC(2026, 2, 1, 12);

interface Signer {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

async function signer(): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk) };
}

function claims(overrides: Record<string, unknown> = {}) {
  const iat = t0 / 1000;
  return {
    iss: 'https://idp.example/sfs',
    sub: 'instance-1',
    aud: 'ns-acme',
    challenge,
    method: 'pin',
    iat,
    exp: iat + 60,
    jti: randomBytes(16).toString('base64url'),
    ...overrides,
  };
}

async function sign(
  key: Signer,
  overrides: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims(overrides))
    .setProtectedHeader({ alg: 'ES256', typ: 'nextauth-attestation+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function code(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (err: unknown) => {
      expect(err).to.be.instanceOf(AttestationError);
      return (err as AttestationError).code;
    },
  );
}

describe('common/attestation/verify', () => {
  let key: Signer;
  let clock: FixedClock;
  let used: Set<string>;
  let options: VerifyAttestationOptions;

  before(async () => {
    key = await signer();
  });
  beforeEach(() => {
    clock = new FixedClock(t0);
    used = new Set();
    options = {
      sfsPublicKeys: [key.publicJwk],
      expectedAudience: 'ns-acme',
      expectedChallenge: challenge,
      clock,
      consume: async (jti) => {
        if (used.has(jti)) return false;
        used.add(jti);
        return true;
      },
    };
  });

  it('accepts a valid attestation once, then reports a replay', async () => {
    const jws = await sign(key);
    expect(await verifyAttestation(jws, options)).to.include({
      sub: 'instance-1',
      aud: 'ns-acme',
      method: 'pin',
    });
    expect(await code(verifyAttestation(jws, options))).to.equal('attestation_replayed');
  });

  it('accepts within the skew around iat and exp', async () => {
    clock.set(t0 - 4000);
    expect(await code(verifyAttestation(await sign(key), options))).to.equal('ok');
    clock.set(t0 + 64_000);
    expect(await code(verifyAttestation(await sign(key), options))).to.equal('ok');
  });

  const rejections: Array<[string, string, () => Promise<string>, Partial<VerifyAttestationOptions>?]> = [
    ['an expired attestation', 'attestation_expired', () => sign(key), {}],
    ['another audience', 'attestation_wrong_audience', () => sign(key, { aud: 'ns-other' })],
    ['another challenge', 'attestation_wrong_challenge', () => sign(key, { challenge: 'A'.repeat(43) })],
    ['another subject', 'attestation_wrong_subject', () => sign(key), { expectedSubject: 'instance-2' }],
    [
      'another issuer',
      'attestation_invalid',
      () => sign(key),
      { expectedIssuer: 'https://evil.example/sfs' },
    ],
    ['a plain JWT typ', 'attestation_invalid', () => sign(key, {}, { typ: 'JWT' })],
    ['no typ', 'attestation_invalid', () => sign(key, {}, { typ: undefined })],
    ['an unknown kid', 'attestation_invalid', () => sign(key, {}, { kid: 'A'.repeat(43) })],
    ['a lifetime over 60 s', 'attestation_invalid', () => sign(key, { exp: t0 / 1000 + 61 })],
    ['exp before iat', 'attestation_invalid', () => sign(key, { exp: t0 / 1000 - 1 })],
    [
      'iat in the future',
      'attestation_invalid',
      () => sign(key, { iat: t0 / 1000 + 10, exp: t0 / 1000 + 60 }),
    ],
    ['an unknown method', 'attestation_invalid', () => sign(key, { method: 'password' })],
    ['an array audience', 'attestation_invalid', () => sign(key, { aud: ['ns-acme'] })],
    ['a missing jti', 'attestation_invalid', () => sign(key, { jti: undefined })],
    [
      'a crit header',
      'attestation_invalid',
      // jose will not sign with an unknown crit, so this one is put together by hand.
      async () => {
        const h = {
          alg: 'ES256',
          typ: 'nextauth-attestation+jwt',
          kid: key.kid,
          crit: ['x-ext'],
          'x-ext': 1,
        };
        const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`;
        const sig = await crypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-256' },
          key.privateKey,
          new TextEncoder().encode(input),
        );
        return `${input}.${Buffer.from(sig).toString('base64url')}`;
      },
    ],
    ['garbage', 'attestation_invalid', async () => 'not.a.jws'],
    ['an oversized token', 'attestation_invalid', async () => `${'a'.repeat(5000)}.b.c`],
    [
      'a tampered payload',
      'attestation_invalid',
      async () => {
        const [h, , s] = (await sign(key)).split('.');
        const payload = Buffer.from(
          JSON.stringify(claims({ aud: 'ns-acme', sub: 'instance-evil' })),
        ).toString('base64url');
        return `${h}.${payload}.${s}`;
      },
    ],
    [
      'alg none',
      'attestation_invalid',
      async () => {
        const h = Buffer.from(JSON.stringify({ alg: 'none', typ: 'nextauth-attestation+jwt', kid: key.kid }));
        return `${h.toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
      },
    ],
    [
      'HS256 keyed with the public key',
      'attestation_invalid',
      () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', typ: 'nextauth-attestation+jwt', kid: key.kid })
          .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk))),
    ],
    [
      'a signature by another key under our kid',
      'attestation_invalid',
      async () => sign({ ...(await signer()), kid: key.kid }),
    ],
  ];
  for (const [what, expected, make, extra] of rejections) {
    it(`rejects ${what} with ${expected} and consumes nothing`, async () => {
      const jws = await make();
      if (expected === 'attestation_expired') clock.set(t0 + 66_000);
      expect(await code(verifyAttestation(jws, { ...options, ...extra }))).to.equal(expected);
      expect(used.size).to.equal(0);
    });
  }

  it('leaves a rejected attestation usable for the right context', async () => {
    const jws = await sign(key);
    expect(await code(verifyAttestation(jws, { ...options, expectedChallenge: 'B'.repeat(43) }))).to.equal(
      'attestation_wrong_challenge',
    );
    expect(await code(verifyAttestation(jws, options))).to.equal('ok');
  });

  it('accepts any of several trusted SFS keys (rotation)', async () => {
    const other = await signer();
    const jws = await sign(other);
    expect(
      await code(verifyAttestation(jws, { ...options, sfsPublicKeys: [key.publicJwk, other.publicJwk] })),
    ).to.equal('ok');
  });

  for (const backend of ['MemoryKv', 'RedisKv'] as const) {
    describe(`one-time use through kvJtiConsumer [${backend}]`, () => {
      let kv: Kv;
      let prefix: string;
      let uri: string | undefined;
      before(async function () {
        prefix = `nextauth-test:${randomBytes(6).toString('hex')}:`;
        if (backend === 'MemoryKv') kv = new MemoryKv({ clock: new FixedClock(t0) });
        else {
          uri = await requireService(this, 'redis', probeRedis);
          kv = new RedisKv(uri, { prefix });
        }
      });
      after(async () => {
        await kv?.close();
        if (uri) await deleteKeys(uri, prefix);
      });

      it('lets exactly one of 20 concurrent verifications of one attestation win', async () => {
        const jws = await sign(key);
        const consume = kvJtiConsumer(kv, clock);
        const codes = await Promise.all(
          Array.from({ length: 20 }, () => code(verifyAttestation(jws, { ...options, consume }))),
        );
        expect(codes.filter((c) => c === 'ok')).to.have.lengthOf(1);
        expect(codes.filter((c) => c === 'attestation_replayed')).to.have.lengthOf(19);
      });
    });
  }
});
