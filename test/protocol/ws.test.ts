// The channel over real loopback WebSockets (`ws` on both ends, maxPayload set), through the structural adapter.
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { z } from 'zod';
import {
  accept,
  Channel,
  connect,
  DEFAULT_MAX_FRAME_BYTES,
  defineMessages,
  type SecureSession,
  type Transport,
  thumbprint,
} from '../../protocol/index.js';
import { parties, target, untext } from './helpers.js';
import { type LoopbackServer, openLoopbackClient, startLoopbackServer } from './ws-server.js';

const registry = defineMessages({
  requests: { echo: { request: z.object({ text: z.string() }), response: z.object({ text: z.string() }) } },
  pushes: {},
});

describe('protocol/channel over ws', () => {
  let server: LoopbackServer;
  const sessions: Promise<SecureSession>[] = [];
  let p: Awaited<ReturnType<typeof parties>>;

  before(async () => {
    p = await parties();
    server = await startLoopbackServer((transport: Transport) => {
      const s = accept(transport, {
        resolveTarget: () => ({ signer: p.serverSigner }),
        authorizeClient: () => true,
      });
      s.catch(() => {});
      sessions.push(s);
      void s.then(
        (session) => {
          const ch = new Channel(session, registry);
          ch.onRequest('echo', (b) => ({ text: b.text }));
        },
        () => {},
      );
    });
  });
  after(() => server.close());

  it('handshake, request/response and close over a real WebSocket', async () => {
    const transport = await openLoopbackClient(server.url);
    const session = await connect(transport, {
      target,
      server: { fingerprints: [await thumbprint(p.serverSigner.publicKey)] },
      identity: p.clientSigner,
    });
    const ch = new Channel(session, registry);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ch.request('echo', { text: `m${i}` })),
    );
    expect(answers.map((a) => a.text)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `m${i}`));
    const remote = await sessions[sessions.length - 1];
    expect(untext(remote?.info.transcriptHash ?? new Uint8Array())).to.equal(
      untext(session.info.transcriptHash),
    );
    await ch.close();
    expect(await remote?.closed).to.equal(null);
  });

  it('a server may do async work between the upgrade and accept (frames are held)', async () => {
    const slow = await startLoopbackServer(async (transport: Transport) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      accept(transport, {
        resolveTarget: () => ({ signer: p.serverSigner }),
        authorizeClient: () => true,
      }).catch(() => {});
    });
    try {
      const session = await connect(await openLoopbackClient(slow.url), {
        target,
        server: { keys: [p.serverSigner.publicKey] },
        identity: p.clientSigner,
      });
      await session.close();
    } finally {
      await slow.close();
    }
  });

  it('ws maxPayload stops an oversized message before the channel sees it (close 1009)', async () => {
    const ws = new WebSocket(server.url, { perMessageDeflate: false });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1));
    expect(await closed).to.equal(1009);
  });

  it('a text frame before the handshake fails the server side with malformed', async () => {
    const ws = new WebSocket(server.url, { perMessageDeflate: false });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<string>((resolve) =>
      ws.once('close', (_c, reason) => resolve(reason.toString())),
    );
    ws.send('hello');
    expect(await closed).to.equal('malformed');
  });
});
