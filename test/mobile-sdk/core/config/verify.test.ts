// verifySdkConfig: a round trip with the publisher side, and each rejection with its code.
import { expect } from 'chai';
import { CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { demoSdkConfig } from '../../../../idp/admin/sdk-config/demo.js';
import { generatePublisherKey, type PublisherKey } from '../../../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../../../idp/admin/sdk-config/sign.js';
import { fetchSdkConfig } from '../../../../mobile-sdk/core/config/fetch.js';
import { b64u, utf8 } from '../../../../protocol/encoding.js';
import type { PublicJwk } from '../../../../protocol/keys.js';
import { SdkConfigError, type SdkConfigErrorCode } from '../../../../protocol/sdk-config/errors.js';
import type { SdkConfig } from '../../../../protocol/sdk-config/schema.js';
import { verifySdkConfig } from '../../../../protocol/sdk-config/verify.js';

async function publicJwk(): Promise<PublicJwk> {
  const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
  return { kty, crv, x, y } as PublicJwk;
}

async function rejects(promise: Promise<unknown>, code: SdkConfigErrorCode): Promise<SdkConfigError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(SdkConfigError);
    expect((err as SdkConfigError).code, (err as Error).message).to.equal(code);
    return err as SdkConfigError;
  }
  throw new Error(`expected ${code}`);
}

describe('mobile-sdk/core/config: verifySdkConfig', () => {
  const clock = new FixedClock(Date.UTC(2026, 0, 1));
  const now = Math.floor(clock.now() / 1000);
  let publisher: PublisherKey;
  let config: SdkConfig;

  /** A JWS with exactly the header and payload given, signed with `key` (default: the publisher key). */
  async function rawSign(header: Record<string, unknown>, payload: Uint8Array, key?: PublisherKey) {
    return new CompactSign(payload)
      .setProtectedHeader({ alg: 'ES256', ...header })
      .sign(await importJWK({ ...(key ?? publisher).privateJwk }, 'ES256'));
  }
  const header = () => ({ typ: 'nextauth-sdk-config+jwt', kid: publisher.fingerprint });

  before(async () => {
    publisher = await generatePublisherKey();
    config = {
      v: 1,
      app: { id: 'com.example.auth', name: 'Example Authenticator' },
      sfs: { url: 'wss://sfs.example.com/sfs/mobile', key: await publicJwk() },
      mc: { url: 'wss://mc.example.com/mc/mobile', key: await publicJwk() },
      issuedAt: now,
      expiresAt: now + 86_400,
    };
  });

  it('round-trips a configuration signed by a trusted publisher', async () => {
    const jws = await signSdkConfig(config, publisher);
    expect(await verifySdkConfig(jws, [await publicJwk(), publisher.publicJwk], clock)).to.deep.equal(config);
  });

  it('refuses a tampered payload byte (bad_signature)', async () => {
    const jws = await signSdkConfig(config, publisher);
    const [h, p, s] = jws.split('.') as [string, string, string];
    const flipped = `${p.slice(0, 10)}${p[10] === 'A' ? 'B' : 'A'}${p.slice(11)}`;
    await rejects(verifySdkConfig(`${h}.${flipped}.${s}`, [publisher.publicJwk], clock), 'bad_signature');
  });

  it('refuses a forged signature under a trusted kid (bad_signature)', async () => {
    const other = await generatePublisherKey();
    const jws = await rawSign(header(), utf8(JSON.stringify(config)), other);
    await rejects(verifySdkConfig(jws, [publisher.publicJwk], clock), 'bad_signature');
  });

  it('refuses another publisher (untrusted_publisher)', async () => {
    const other = await generatePublisherKey();
    const jws = await signSdkConfig(config, other);
    await rejects(verifySdkConfig(jws, [publisher.publicJwk], clock), 'untrusted_publisher');
    await rejects(verifySdkConfig(jws, [], clock), 'untrusted_publisher');
  });

  it('refuses alg none and HS256 before looking at the signature (bad_signature)', async () => {
    const payload = b64u(utf8(JSON.stringify(config)));
    const none = `${b64u(utf8(JSON.stringify({ ...header(), alg: 'none' })))}.${payload}.`;
    await rejects(verifySdkConfig(none, [publisher.publicJwk], clock), 'bad_signature');
    const hs = await new CompactSign(utf8(JSON.stringify(config)))
      .setProtectedHeader({ ...header(), alg: 'HS256' })
      .sign(utf8(JSON.stringify(publisher.publicJwk)));
    await rejects(verifySdkConfig(hs, [publisher.publicJwk], clock), 'bad_signature');
  });

  it('refuses a JWS of another type, however well signed (wrong_type)', async () => {
    for (const typ of [undefined, 'JWT', 'nextauth-attestation+jwt']) {
      const jws = await rawSign({ ...header(), typ }, utf8(JSON.stringify(config)));
      await rejects(verifySdkConfig(jws, [publisher.publicJwk], clock), 'wrong_type');
    }
  });

  it('refuses critical header extensions and a missing kid (malformed)', async () => {
    const crit = await rawSign({ ...header(), crit: ['b64'], b64: true }, utf8(JSON.stringify(config)));
    await rejects(verifySdkConfig(crit, [publisher.publicJwk], clock), 'malformed');
    const noKid = await rawSign({ typ: 'nextauth-sdk-config+jwt' }, utf8(JSON.stringify(config)));
    await rejects(verifySdkConfig(noKid, [publisher.publicJwk], clock), 'malformed');
  });

  it('refuses a signed payload that is not JSON or not a configuration (malformed)', async () => {
    const bad: Uint8Array[] = [
      utf8('{"v":1,'),
      new Uint8Array([0xff, 0xfe]),
      utf8(JSON.stringify({ ...config, v: 2 })),
      utf8(JSON.stringify({ ...config, extra: true })),
      utf8(JSON.stringify({ ...config, sfs: { ...config.sfs, url: 'https://sfs.example.com' } })),
      utf8(JSON.stringify({ ...config, mc: { ...config.mc, key: { ...publisher.privateJwk } } })),
      utf8(JSON.stringify({ ...config, expiresAt: now - 1 })),
    ];
    for (const payload of bad) {
      const jws = await rawSign(header(), payload);
      await rejects(verifySdkConfig(jws, [publisher.publicJwk], clock), 'malformed');
    }
  });

  it('refuses a key that is not a point on P-256 (malformed)', async () => {
    const offCurve = { ...config.sfs.key, y: config.sfs.key.x };
    const jws = await rawSign(
      header(),
      utf8(JSON.stringify({ ...config, sfs: { ...config.sfs, key: offCurve } })),
    );
    await rejects(verifySdkConfig(jws, [publisher.publicJwk], clock), 'malformed');
  });

  it('refuses what is not a compact JWS, or too large (malformed)', async () => {
    for (const text of ['', 'a.b', 'a.b.c.d', '{"config":1}', `${'a'.repeat(17_000)}.b.c`]) {
      await rejects(verifySdkConfig(text, [publisher.publicJwk], clock), 'malformed');
    }
  });

  it('refuses an expired configuration after the skew (expired)', async () => {
    const jws = await signSdkConfig(config, publisher);
    const later = new FixedClock(clock.now() + 86_400_000 + 299_000);
    expect((await verifySdkConfig(jws, [publisher.publicJwk], later)).app.id).to.equal('com.example.auth');
    later.advance(1000);
    await rejects(verifySdkConfig(jws, [publisher.publicJwk], later), 'expired');
    await rejects(verifySdkConfig(jws, [publisher.publicJwk], later, { skewSeconds: 0 }), 'expired');
  });

  describe('fetchSdkConfig', () => {
    const serve = (body: unknown, status = 200) =>
      (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;

    it('trusts the served publisher key on first use and reports its fingerprint', async () => {
      const sfsKey = await publicJwk();
      const jws = await demoSdkConfig({
        publicUrl: 'http://localhost:3000',
        sfsKey,
        mcKey: await publicJwk(),
        publisherKey: publisher,
        now: clock.now(),
      });
      const got = await fetchSdkConfig('http://localhost:3000', {
        clock,
        fetch: serve({ config: jws, publisherKey: publisher.publicJwk }),
      });
      expect(got.trustedOnFirstUse).to.equal(true);
      expect(got.publisherFingerprint).to.equal(publisher.fingerprint);
      expect(got.config.sfs).to.deep.equal({ url: 'ws://localhost:3000/sfs/mobile', key: sfsKey });
      expect(got.config.mc.url).to.equal('ws://localhost:3000/mc/mobile');
      expect(got.config.expiresAt).to.equal(undefined);
    });

    it('verifies against pinned keys, ignoring the served one', async () => {
      const jws = await signSdkConfig(config, publisher);
      const attacker = await generatePublisherKey();
      const forged = await signSdkConfig(config, attacker);
      const pinned = { clock, trustedPublisherKeys: [publisher.publicJwk] };
      const ok = await fetchSdkConfig('https://idp.example.com/', {
        ...pinned,
        fetch: serve({ config: jws, publisherKey: attacker.publicJwk }),
      });
      expect(ok.trustedOnFirstUse).to.equal(false);
      expect(ok.publisherKey).to.deep.equal(publisher.publicJwk);
      await rejects(
        fetchSdkConfig('https://idp.example.com', {
          ...pinned,
          fetch: serve({ config: forged, publisherKey: attacker.publicJwk }),
        }),
        'untrusted_publisher',
      );
    });

    it('refuses a document of the wrong shape and reports HTTP errors', async () => {
      await rejects(fetchSdkConfig('http://x', { clock, fetch: serve({ config: 1 }) }), 'malformed');
      try {
        await fetchSdkConfig('http://x', { clock, fetch: serve({}, 404) });
        expect.fail('no error');
      } catch (err) {
        expect((err as Error).message).to.equal('GET http://x/sdk-config answered 404');
      }
    });
  });
});
