// Publisher keys and the demo configuration: 0600 files that are never overwritten, one key under racing starts.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import {
  DEMO_APP,
  demoSdkConfig,
  mobileChannelUrl,
  sdkConfigDocument,
} from '../../../../idp/admin/sdk-config/demo.js';
import {
  generatePublisherKey,
  loadOrCreatePublisherKey,
  readPublicJwk,
  readPublisherKeyFile,
  writePublisherKeyFile,
} from '../../../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../../../idp/admin/sdk-config/sign.js';
import { sdkConfigDocumentSchema } from '../../../../protocol/sdk-config/schema.js';
import { verifySdkConfig } from '../../../../protocol/sdk-config/verify.js';

describe('idp/admin/sdk-config: publisher keys and the demo configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-publisher-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes the private key 0600, reads it back, and never overwrites it', async () => {
    const key = await generatePublisherKey();
    const path = join(dir, 'publisher.jwk');
    await writePublisherKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect(await readPublisherKeyFile(path)).to.deep.equal(key);
    let message = '';
    await writePublisherKeyFile(path, await generatePublisherKey()).catch((e: Error) => {
      message = e.message;
    });
    expect(message).to.equal(`${path} already exists; not overwriting a key`);
    expect(await readPublisherKeyFile(path)).to.deep.equal(key);
  });

  it('reads public keys from files or inline JSON, and names a bad file without printing it', async () => {
    const key = await generatePublisherKey();
    const path = join(dir, 'k.jwk');
    await writePublisherKeyFile(path, key);
    expect(await readPublicJwk(path)).to.deep.equal(key.publicJwk);
    expect(await readPublicJwk(JSON.stringify(key.publicJwk))).to.deep.equal(key.publicJwk);
    await writeFile(join(dir, 'bad.jwk'), JSON.stringify({ ...key.privateJwk, crv: 'P-384' }));
    const err = await readPublisherKeyFile(join(dir, 'bad.jwk')).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`${join(dir, 'bad.jwk')} is not a private P-256 JWK`);
    expect((err as Error).message).not.to.contain(key.privateJwk.d);
  });

  it('agrees on one key when first starts race', async () => {
    const path = join(dir, 'demo-publisher.jwk');
    const keys = await Promise.all(Array.from({ length: 5 }, () => loadOrCreatePublisherKey(path)));
    for (const k of keys) expect(k.fingerprint).to.equal(keys[0]?.fingerprint);
    expect(JSON.parse(await readFile(path, 'utf8'))).to.deep.equal(keys[0]?.privateJwk);
  });

  it('signs the demo configuration for the public URL, which the SDK verifies', async () => {
    const [publisher, sfs, mc] = await Promise.all([
      generatePublisherKey(),
      generatePublisherKey(),
      generatePublisherKey(),
    ]);
    const clock = new FixedClock();
    const jws = await demoSdkConfig({
      publicUrl: 'https://idp.example.com/auth/',
      sfsKey: sfs.publicJwk,
      mcKey: mc.publicJwk,
      publisherKey: publisher,
      now: clock.now(),
    });
    const document = sdkConfigDocumentSchema.parse(sdkConfigDocument(jws, publisher));
    const config = await verifySdkConfig(document.config, [document.publisherKey], clock);
    expect(config).to.deep.equal({
      v: 1,
      app: DEMO_APP,
      sfs: { url: 'wss://idp.example.com/auth/sfs/mobile', key: sfs.publicJwk },
      mc: { url: 'wss://idp.example.com/auth/mc/mobile', key: mc.publicJwk },
      issuedAt: clock.now() / 1000,
    });
    expect(mobileChannelUrl('http://127.0.0.1:3000', '/sfs/mobile')).to.equal(
      'ws://127.0.0.1:3000/sfs/mobile',
    );
  });

  it('refuses to sign an invalid configuration, naming the field', async () => {
    const publisher = await generatePublisherKey();
    const err = await signSdkConfig(
      {
        v: 1,
        app: { id: 'bad id', name: 'x' },
        sfs: { url: 'wss://s', key: publisher.publicJwk },
        mc: { url: 'wss://m', key: publisher.publicJwk },
        issuedAt: 1,
      },
      publisher,
    ).catch((e: Error) => e);
    expect((err as Error).message).to.match(/^invalid SDK configuration: app\.id: /);
  });
});
