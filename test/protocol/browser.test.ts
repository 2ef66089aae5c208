// The same channel cases and vector replays in headless Chromium (browser WebCrypto, esbuild bundle, loopback page).
import { access, constants } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { z } from 'zod';
import { accept, b64u, Channel, defineMessages, hex, type SecureSession } from '../../protocol/index.js';
import { requireService } from '../helpers/services.js';
import { negative, roundTrip } from './cases.js';
import { newSigner } from './helpers.js';
import { vectorCases } from './vector-cases.js';
import { type LoopbackServer, startLoopbackServer } from './ws-server.js';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

describe('protocol/channel in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let server: Server | undefined;
  let results = new Map<string, Result>();
  let secure = false;
  let wsServer: LoopbackServer | undefined;
  const nodeSessions: SecureSession[] = [];
  let interop: { transcriptHash: string; answer: string } | undefined;

  before(async function () {
    const executable = await requireService(this, 'chromium', (path) => access(path, constants.X_OK));
    const bundle = await build({
      entryPoints: [new URL('./browser-entry.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    server = createServer((req, res) => {
      if (req.url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>channel</title><script type="module" src="/bundle.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const serverSigner = await newSigner();
    const registry = defineMessages({
      requests: {
        echo: { request: z.object({ text: z.string() }), response: z.object({ text: z.string() }) },
      },
      pushes: {},
    });
    wsServer = await startLoopbackServer((transport) => {
      accept(transport, {
        resolveTarget: () => ({ signer: serverSigner }),
        authorizeClient: (c) => c.key === null,
      }).then(
        (session) => {
          nodeSessions.push(session);
          new Channel(session, registry).onRequest('echo', (b) => ({ text: `node got: ${b.text}` }));
        },
        () => {},
      );
    });
    const query = `?ws=${encodeURIComponent(wsServer.url)}&key=${b64u(serverSigner.publicKey)}`;
    browser = await chromium.launch({
      executablePath: executable,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`http://127.0.0.1:${port}/${query}`);
    await page
      .waitForFunction(() => (globalThis as { __done?: boolean }).__done === true || undefined, null, {
        timeout: 100_000,
      })
      .catch(() => {
        throw new Error(`browser run did not finish: ${pageErrors.join('; ') || 'no page error'}`);
      });
    secure = await page.evaluate(() => (globalThis as { __secure?: boolean }).__secure === true);
    const list = await page.evaluate(() => (globalThis as { __results?: Result[] }).__results ?? []);
    results = new Map(list.map((r) => [r.name, r]));
    interop = await page.evaluate(
      () => (globalThis as { __interop?: { transcriptHash: string; answer: string } }).__interop,
    );
  });

  after(async () => {
    await wsServer?.close();
    await browser?.close();
    server?.close();
  });

  it('runs in a secure context (browser WebCrypto available)', () => {
    expect(secure).to.equal(true);
  });

  it('browser client (browser WebSocket + WebCrypto) ⇄ Node server (ws + Node WebCrypto): same transcript hash', () => {
    const r = results.get('browser client ⇄ Node server over a real WebSocket');
    expect(r?.error ?? null).to.equal(null);
    expect(interop?.answer).to.equal('node got: from chromium');
    expect(nodeSessions.map((s) => hex(s.info.transcriptHash))).to.include(interop?.transcriptHash);
  });

  for (const name of Object.keys({ ...vectorCases, ...roundTrip, ...negative })) {
    it(name, () => {
      const r = results.get(name);
      expect(r, 'case ran in the page').to.not.equal(undefined);
      expect(r?.error ?? null).to.equal(null);
      expect(r?.ok).to.equal(true);
    });
  }
});
