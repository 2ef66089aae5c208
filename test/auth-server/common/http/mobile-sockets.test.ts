import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import {
  attachMobileSockets,
  type MobileSockets,
} from '../../../../auth-server/common/http/mobile-sockets.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { Transport } from '../../../../protocol/transport.js';

const logger = createLogger({ level: 'silent', format: 'json' });

describe('http: mobile WebSocket endpoints', () => {
  let server: Server;
  let sockets: MobileSockets;
  let base: string;
  let accepting = true;
  const accepted: { transport: Transport; ip: string | undefined; userAgent: string | undefined }[] = [];

  beforeEach(async () => {
    accepting = true;
    accepted.length = 0;
    server = createServer((_, res) => res.end());
    sockets = attachMobileSockets(
      server,
      [
        {
          path: '/ns/mobile',
          accept: (transport, info) => {
            accepted.push({ transport, ...info });
          },
        },
      ],
      { logger, trustProxy: false, accepting: () => accepting, maxPayload: 1024 },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await sockets.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  function open(path: string, headers: Record<string, string> = {}): Promise<WebSocket> {
    const ws = new WebSocket(`${base}${path}`, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_, res) => reject(new Error(`status ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  const closeCode = (ws: WebSocket) => new Promise<number>((r) => ws.once('close', (code) => r(code)));

  it('hands an upgrade on a known path to its endpoint with the client address', async () => {
    const ws = await open('/ns/mobile?x=1', { 'user-agent': 'phone/1.0' });
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(accepted[0]?.ip).to.equal('127.0.0.1');
    expect(accepted[0]?.userAgent).to.equal('phone/1.0');
    expect(sockets.connections()).to.equal(1);
    ws.close();
  });

  it('refuses unknown paths with 404 before any WebSocket exists', async () => {
    const err = await open('/sfs/mobile').catch((e: Error) => e);
    expect((err as Error).message).to.equal('status 404');
    expect(accepted).to.have.lengthOf(0);
  });

  it('refuses new connections with 503 once shutdown has begun', async () => {
    accepting = false;
    const err = await open('/ns/mobile').catch((e: Error) => e);
    expect((err as Error).message).to.equal('status 503');
  });

  it('closes a connection that sends a frame above the cap (1009) before the endpoint sees it', async () => {
    const ws = await open('/ns/mobile');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const frames: unknown[] = [];
    const transport = accepted[0]?.transport as Transport;
    transport.onmessage = (f) => frames.push(f);
    const code = closeCode(ws);
    ws.send(new Uint8Array(2048));
    expect(await code).to.equal(1009);
    expect(frames).to.have.lengthOf(0);
  });

  it('closes open connections with 1001 on shutdown', async () => {
    const ws = await open('/ns/mobile');
    const code = closeCode(ws);
    await sockets.close();
    expect(await code).to.equal(1001);
  });
});
