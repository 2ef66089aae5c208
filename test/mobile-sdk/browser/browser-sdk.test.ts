// The SDK core in headless Chromium against a real embedded runtime: the browser entry (IndexedDB keys and
// storage, the browser WebSocket) configures from /sdk-config, enrols, logs a REST session in, survives a
// reload. The page is served from its own loopback origin, as a PWA would be; /sdk-config is proxied there
// (the server sends no CORS headers) while the WebSockets go straight to the runtime.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { publisherFingerprint } from '../../../protocol/sdk-config/fingerprint.js';
import { sdkConfigDocumentSchema } from '../../../protocol/sdk-config/schema.js';
import { launchChromium } from '../../helpers/browser.js';
import { freePort } from '../../helpers/http.js';
import { startTestRuntime, type TestRuntime } from '../../helpers/runtime.js';
import type { Outcome, SdkTestApi } from './browser-sdk-entry.js';

type Api = SdkTestApi;
type Value<K extends keyof Api> = Awaited<ReturnType<Api[K]>> extends Outcome<infer T> ? T : never;

describe('mobile-sdk/browser: the SDK in headless Chromium against an embedded runtime', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let page: Page;
  let pageServer: Server | undefined;
  let started: TestRuntime | undefined;
  let url: string;
  let pageUrl: string;
  let apiKey: string;
  let pageErrors: string[] = [];

  before(async function () {
    browser = await launchChromium(this);
    started = await startTestRuntime({ services: ['ns', 'sfs', 'mc', 'idp'] });
    ({ url } = started);
    apiKey = (await readFile(join(started.dataDir, 'root-api-key'), 'utf8')).trim();

    const bundle = await build({
      entryPoints: [new URL('./browser-sdk-entry.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    pageServer = createServer((req, res) => {
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      } else if (req.url === '/bad/sdk-config') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"config":"x.y.z"}');
      } else if (req.url === '/sdk-config') {
        fetch(`${url}/sdk-config`).then(
          async (upstream) =>
            res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text()),
          () => res.writeHead(502).end(),
        );
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>sdk</title><script type="module" src="/bundle.js"></script>');
      }
    });
    await new Promise<void>((resolve) => pageServer?.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await load();
  });

  after(async () => {
    await browser?.close();
    pageServer?.close();
    await started?.close();
  });

  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').to.deep.equal([]);
    pageErrors = [];
  });

  async function load(): Promise<void> {
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'sdkTest' in globalThis);
  }

  /** Calls `sdkTest[name](...args)` in the page. */
  function call<K extends keyof Api>(name: K, ...args: Parameters<Api[K]>): Promise<Outcome<Value<K>>> {
    return page.evaluate(
      ([n, a]) => {
        const api = (globalThis as unknown as { sdkTest: Record<string, (...x: unknown[]) => unknown> })
          .sdkTest;
        return api[n as string]?.(...(a as unknown[]));
      },
      [name, args] as const,
    ) as Promise<Outcome<Value<K>>>;
  }

  async function value<K extends keyof Api>(name: K, ...args: Parameters<Api[K]>): Promise<Value<K>> {
    const outcome = await call(name, ...args);
    if (!outcome.ok) expect.fail(`${String(name)} failed in the page: ${outcome.code}: ${outcome.message}`);
    return outcome.value;
  }

  async function rest(method: string, path: string, body?: unknown, nonce?: string): Promise<Response> {
    return fetch(`${url}/ns/api/v2${path}`, {
      method,
      headers: {
        'x-apikey': apiKey,
        ...(nonce ? { 'x-nonce': nonce } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** A login session as an integrator's backend creates it over REST, with the URI its QR code shows. */
  async function restSession(): Promise<{ nonce: string; qrUri: string }> {
    const created = await rest('POST', '/session', { server: 'default', userAgent: 'integrator-test/1.0' });
    expect(created.status).to.equal(201);
    const { nonce } = (await created.json()) as { nonce: string };
    const qr = await rest('GET', '/qr', undefined, nonce);
    expect(qr.status).to.equal(200);
    const { qrUri } = (await qr.json()) as { qrUri: string };
    expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
    return { nonce, qrUri };
  }

  async function status(nonce: string): Promise<{ loggedin: boolean; state: string; userid?: string }> {
    const res = await rest('GET', '/session', undefined, nonce);
    expect(res.status).to.equal(200);
    return (await res.json()) as { loggedin: boolean; state: string; userid?: string };
  }

  it('the KeyStore adapter keeps its contract: P-256 and HMAC keys, and every refusal', async () => {
    const r = await value('keyStoreContract');
    expect(r).to.deep.include({
      hardwareBacked: false,
      signatureBytes: 64,
      verifies: true,
      macBytes: 32,
      macStable: true,
      generateTwice: 'exists',
      keptAfterRefusal: true,
      publicOfMac: 'wrong_kind',
      signMissing: 'not_found',
      badAlias: 'invalid_alias',
      deleteAbsent: 'resolved',
      afterDelete: false,
      planted: 'tampered',
    });
    expect(r.jwkFields).to.deep.equal(['crv', 'kty', 'x', 'y']);
    expect(r.hasBoth).to.deep.equal([true, true, false]);
    expect(r.race).to.deep.equal(['exists', 'resolved']);
  });

  it('the Storage adapter keeps its contract: JSON round trip, bad keys and oversized documents refused', async () => {
    const r = await value('storageContract');
    expect(r.roundTrip).to.deep.equal({ a: [1, 'two', null, { b: true }] });
    expect(r).to.deep.include({
      absent: true,
      badKey: 'invalid_key',
      tooLarge: 'too_large',
      keptAfterTooLarge: true,
      deleteAbsent: 'resolved',
    });
    expect(r.deleted).to.equal(undefined);
  });

  it('a flow before configuration is refused with not_initialised', async () => {
    const { qrUri } = await restSession();
    const r = await call('login', qrUri, ['1234']);
    expect(r).to.deep.include({ ok: false, code: 'not_initialised' });
  });

  it('a configuration that is not one, or a server that is not there, is refused and nothing is stored', async () => {
    const closedPort = await freePort();
    expect(await call('configure', `${pageUrl}bad`)).to.deep.include({ ok: false, code: 'config_invalid' });
    expect(await call('configure', `http://127.0.0.1:${closedPort}`)).to.deep.include({
      ok: false,
      code: 'unreachable',
    });
    expect(await value('configured')).to.equal(null);
  });

  it('the WebSocket factory refuses other schemes, a closed port, and a server that never upgrades', async () => {
    const closedPort = await freePort();
    // Accepts TCP and never answers the upgrade: only the open deadline ends the wait.
    const silent = createNetServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const r = await value(
        'transportFailures',
        [
          `${url}/sfs/mobile`,
          `ws://127.0.0.1:${closedPort}/`,
          `ws://127.0.0.1:${silentPort}/`,
          `${url.replace(/^http/, 'ws')}/sfs/mobile`,
        ],
        500,
      );
      expect(r[0]).to.equal('not a ws:// or wss:// URL');
      expect(r[1]).to.match(/^WebSocket closed \(1006\)$|WebSocket error/);
      expect(r[2]).to.match(/^WebSocket closed \(1006\)$|WebSocket error/);
      expect(r[3]).to.equal('opened');
    } finally {
      silent.close();
    }
  });

  it('configures from the runtime /sdk-config, trusting its publisher key on first use', async () => {
    const doc = sdkConfigDocumentSchema.parse(await (await fetch(`${url}/sdk-config`)).json());
    const r = await value('configure');
    expect(r.fingerprint).to.equal(await publisherFingerprint(doc.publisherKey));
    expect(r.sfs).to.equal(`${url.replace(/^http/, 'ws')}/sfs/mobile`);
  });

  it('enrols alice from an enrol link created over REST, setting the PIN', async () => {
    const res = await rest('POST', '/enrol-links', { server: 'default', userid: 'alice' });
    expect(res.status).to.equal(201);
    const { uri } = (await res.json()) as { uri: string };
    expect(await value('enrol', uri, '1234')).to.equal('alice');
    expect((await value('accounts')).map((a) => a.userid)).to.deep.equal(['alice']);
  });

  it('logs a REST session in as alice with the PIN', async () => {
    const { nonce, qrUri } = await restSession();
    expect(await value('login', qrUri, ['1234'])).to.deep.equal({ outcome: 'approved', seen: [null] });
    expect(await status(nonce)).to.deep.include({ loggedin: true, state: 'loggedin', userid: 'alice' });
  });

  it('private keys are non-extractable CryptoKeys: no export format gets them out', async () => {
    const keys = await value('keys');
    const [account] = await value('accounts');
    // The app instance key, the PIN key and alice's account key.
    expect(keys.map((k) => k.alias).sort()).to.deep.equal(
      ['app-instance', 'device-pin-key', account?.alias ?? '?'].sort(),
    );
    for (const key of keys) {
      expect(key.extractable, key.alias).to.equal(false);
      expect(key.exported, key.alias).to.deep.equal([]);
      expect(key.type, key.alias).to.equal(key.alias === 'device-pin-key' ? 'secret' : 'private');
      expect(key.algorithm, key.alias).to.equal(key.alias === 'device-pin-key' ? 'HMAC' : 'ECDSA');
    }
  });

  it('keys, account and configuration survive a page reload: the next login needs nothing new', async () => {
    const before = await value('keys');
    await page.reload();
    await page.waitForFunction(() => 'sdkTest' in globalThis);
    expect(await value('configured')).to.equal(`${url.replace(/^http/, 'ws')}/sfs/mobile`);
    expect((await value('accounts')).map((a) => a.userid)).to.deep.equal(['alice']);
    expect((await value('keys')).map((k) => k.alias).sort()).to.deep.equal(before.map((k) => k.alias).sort());
    const { nonce, qrUri } = await restSession();
    expect((await value('login', qrUri, ['1234'])).outcome).to.equal('approved');
    expect(await status(nonce)).to.deep.include({ loggedin: true, userid: 'alice' });
  });

  it('a wrong PIN is asked again with the attempts left; giving up leaves the session not logged in', async () => {
    const { nonce, qrUri } = await restSession();
    const r = await call('login', qrUri, ['9999']);
    if (r.ok) expect.fail('a wrong PIN logged in');
    expect(r.code).to.equal('pin_invalid');
    expect(r.details.attemptsLeft).to.be.a('number').within(1, 4);
    expect(r.message).to.equal(`pin_invalid (${r.details.attemptsLeft} attempts left)`);
    expect((await status(nonce)).loggedin).to.equal(false);
  });

  it('a wrong PIN then the right one logs in', async () => {
    const { nonce, qrUri } = await restSession();
    const r = await value('login', qrUri, ['9999', '1234']);
    expect(r.outcome).to.equal('approved');
    expect(r.seen[0]).to.equal(null);
    expect(r.seen[1]).to.be.a('number');
    expect(await status(nonce)).to.deep.include({ loggedin: true, userid: 'alice' });
  });
});
