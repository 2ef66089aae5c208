// Secure-channel cases shared by the Node suite and the headless-Chromium bundle (same code, either WebCrypto).
import { expect } from 'chai';
import { z } from 'zod';
import {
  type Bytes,
  Channel,
  createSuccessionRecord,
  DEFAULT_MAX_FRAME_BYTES,
  defineMessages,
  hex,
  MessageError,
  memoryTransportPair,
  SUITE_AES128,
  SUITE_AES256,
  type Transport,
  thumbprint,
} from '../../protocol/index.js';
import {
  codeOf,
  established,
  expectFailed,
  expectLocal,
  expectRejects,
  flipByte,
  handshake,
  newSigner,
  parties,
  rewriteJson,
  sleep,
  text,
  untext,
} from './helpers.js';

export type Case = () => Promise<void>;

const registry = defineMessages({
  requests: {
    echo: { request: z.object({ text: z.string().max(100) }), response: z.object({ text: z.string() }) },
    fail: { request: z.object({}), response: z.object({}) },
    slow: { request: z.object({ ms: z.number() }), response: z.object({ ok: z.boolean() }) },
    'bad-answer': { request: z.object({}), response: z.object({ n: z.number() }) },
  },
  pushes: {
    challenge: z.object({ nonce: z.string() }),
  },
});

/** Post-handshake frame index helper: frames 0..n of c2s are client_hello, client_finish, then records. */
const C2S_FIRST_RECORD = 2;

export const roundTrip: Record<string, Case> = {
  async 'authenticated handshake: same transcript hash, identities, records both ways, normal close'() {
    const p = await parties();
    const { client, server } = await established(p);
    expect(hex(client.info.transcriptHash)).to.equal(hex(server.info.transcriptHash));
    expect(client.info.transcriptHash.length).to.equal(32);
    expect(hex(server.info.clientKey as Bytes)).to.equal(hex(p.clientSigner.publicKey));
    expect(hex(client.info.serverKey)).to.equal(hex(p.serverSigner.publicKey));
    expect(client.info).to.include({ version: 1, suite: SUITE_AES256.id, serverKeyRotated: false });
    expect(server.info.target).to.deep.equal({ kind: 'ns', id: 'default' });
    const atServer: string[] = [];
    const atClient: string[] = [];
    server.onData = (b) => atServer.push(untext(b));
    client.onData = (b) => atClient.push(untext(b));
    for (let i = 0; i < 20; i++) void client.send(text(`c${i}`));
    for (let i = 0; i < 20; i++) void server.send(text(`s${i}`));
    await client.send(text('last'));
    await sleep(20);
    expect(atServer).to.deep.equal([...Array.from({ length: 20 }, (_, i) => `c${i}`), 'last']);
    expect(atClient).to.deep.equal(Array.from({ length: 20 }, (_, i) => `s${i}`));
    await client.close();
    expect(await client.closed).to.equal(null);
    expect(await server.closed).to.equal(null);
    await expectRejects(client.send(text('x')), 'closed');
  },

  async 'anonymous enrolment variant: server pinned by fingerprint, client key null, transcript exported'() {
    const p = await parties();
    let seen: unknown = 'not called';
    const { client, server } = await established(p, {
      client: { identity: null, server: { fingerprints: [await thumbprint(p.serverSigner.publicKey)] } },
      server: {
        authorizeClient: (c) => {
          seen = c.key;
          return c.key === null;
        },
      },
    });
    expect(seen).to.equal(null);
    expect(server.info.clientKey).to.equal(null);
    expect(hex(client.info.transcriptHash)).to.equal(hex(server.info.transcriptHash));
    await client.close();
  },

  async 'server key rotation: client pinned to the old key follows a signed succession chain'() {
    const old = await newSigner();
    const mid = await newSigner();
    const current = await newSigner();
    const chain = [
      await createSuccessionRecord(old, mid.publicKey),
      await createSuccessionRecord(mid, current.publicKey),
    ];
    const p = { serverSigner: current, clientSigner: await newSigner() };
    const { client } = await established(p, {
      client: { server: { keys: [old.publicKey] } },
      server: { resolveTarget: () => ({ signer: current, succession: chain }) },
    });
    expect(client.info.serverKeyRotated).to.equal(true);
    expect(hex(client.info.serverKey)).to.equal(hex(current.publicKey));
    const viaFingerprint = await established(p, {
      client: { identity: null, server: { fingerprints: [await thumbprint(mid.publicKey)] } },
      server: { resolveTarget: () => ({ signer: current, succession: chain }) },
    });
    expect(viaFingerprint.client.info.serverKeyRotated).to.equal(true);
    await client.close();
    await viaFingerprint.client.close();
  },

  async 'message layer: typed request/response, push, error frames with codes, timeouts'() {
    const p = await parties();
    const { client, server } = await established(p);
    const c = new Channel(client, registry, { requestTimeoutMs: 500 });
    const s = new Channel(server, registry);
    s.onRequest('echo', (body) => ({ text: body.text.toUpperCase() }));
    s.onRequest('fail', () => {
      throw new MessageError('locked', 'too many attempts');
    });
    s.onRequest('slow', async (body) => {
      await sleep(body.ms);
      return { ok: true };
    });
    s.onRequest('bad-answer', () => ({ n: 'not a number' }) as unknown as { n: number });
    const pushes: string[] = [];
    c.onPush('challenge', (body) => {
      pushes.push(body.nonce);
    });
    const answers = await Promise.all([1, 2, 3].map((i) => c.request('echo', { text: `hi${i}` })));
    expect(answers.map((a) => a.text)).to.deep.equal(['HI1', 'HI2', 'HI3']);
    await expectRejects(c.request('fail', {}), 'locked');
    await expectRejects(c.request('bad-answer', {}), 'internal');
    await expectRejects(c.request('slow', { ms: 1500 }), 'timeout');
    await expectRejects(c.request('echo', { text: 'x'.repeat(101) }), 'bad_request');
    // A request type the peer has no handler for.
    await expectRejects(s.request('echo', { text: 'x' }), 'unknown_type');
    await s.push('challenge', { nonce: 'n1' });
    await sleep(10);
    expect(pushes).to.deep.equal(['n1']);
    await c.close();
    expect(await s.closed).to.equal(null);
  },

  async 'message layer: refused pushes come back as error frames without id; busy above the handler limit'() {
    const p = await parties();
    const { client, server } = await established(p);
    const errors: string[] = [];
    const c = new Channel(client, registry, { onError: (e) => errors.push(e.code) });
    const s = new Channel(server, registry, { maxConcurrentHandlers: 1 });
    s.onRequest('slow', async (body) => {
      await sleep(body.ms);
      return { ok: true };
    });
    await client.send(text(JSON.stringify({ t: 'push', type: 'challenge', body: { nonce: 1 } })));
    await client.send(text(JSON.stringify({ t: 'push', type: 'no-such-push', body: {} })));
    await client.send(text(JSON.stringify({ t: 'push', type: 'constructor', body: {} })));
    await client.send(text(JSON.stringify({ t: 'req', id: 99, type: 'tostring', body: {} })));
    const first = c.request('slow', { ms: 50 });
    await expectRejects(c.request('slow', { ms: 1 }), 'busy');
    expect(await first).to.deep.equal({ ok: true });
    expect(errors).to.deep.equal(['bad_request', 'unknown_type', 'unknown_type']);
    expect(server.isOpen).to.equal(true);
    await c.close();
  },

  async 'message layer: a malformed envelope closes the channel (fail closed)'() {
    const p = await parties();
    const { client, server } = await established(p);
    new Channel(server, registry);
    await client.send(text('{"t":"nope"}'));
    expect((await server.closed)?.code).to.equal('malformed');
    expect((await client.closed)?.code).to.equal('malformed');
    expect((await client.closed)?.remote).to.equal(true);
  },

  async 'heartbeat keeps an idle channel open; idle timeout closes a silent one'() {
    const p = await parties();
    const alive = await established(p, {
      client: { heartbeatMs: 25, idleTimeoutMs: 250 },
      server: { heartbeatMs: 25, idleTimeoutMs: 250 },
    });
    await sleep(400);
    expect(alive.client.isOpen && alive.server.isOpen).to.equal(true);
    await alive.client.close();
    const silent = await established(p, {
      client: { heartbeatMs: 0, idleTimeoutMs: 80 },
      server: { heartbeatMs: 0, idleTimeoutMs: 0 },
    });
    expect((await silent.client.closed)?.code).to.equal('timeout');
    expect((await silent.server.closed)?.code).to.equal('timeout');
  },

  async 'back-pressure: send() waits while the transport buffer is above the high-water mark'() {
    const p = await parties();
    const [a, b] = memoryTransportPair();
    let buffered = 0;
    const slow: Transport = {
      send: (f) => a.send(f),
      close: (code, reason) => a.close(code, reason),
      get bufferedAmount() {
        return buffered;
      },
      get onmessage() {
        return a.onmessage;
      },
      set onmessage(h) {
        a.onmessage = h;
      },
      get onclose() {
        return a.onclose;
      },
      set onclose(h) {
        a.onclose = h;
      },
    };
    const { client } = await established(p, {
      transports: { client: slow, server: b },
      client: { highWaterMark: 1000 },
    });
    buffered = 5000;
    let done = false;
    const sending = client.send(text('x')).then(() => {
      done = true;
    });
    await sleep(30);
    expect(done).to.equal(false);
    buffered = 0;
    await sending;
    expect(done).to.equal(true);
    await client.close();
  },
};

export const negative: Record<string, Case> = {
  async 'wrong server key → bad_server_key'() {
    const p = await parties();
    const stranger = await newSigner();
    const r = await handshake(p, { client: { server: { keys: [stranger.publicKey] } } });
    expectLocal(r.client, 'bad_server_key');
    expect(codeOf(r.server)).to.equal('remote:bad_server_key');
  },

  async 'wrong fingerprint in the enrol QR → bad_server_key'() {
    const p = await parties();
    const r = await handshake(p, { client: { identity: null, server: { fingerprints: ['A'.repeat(43)] } } });
    expectLocal(r.client, 'bad_server_key');
    expectFailed(r.server);
  },

  async 'wrong client key (not authorized) → bad_client_key'() {
    const p = await parties();
    const r = await handshake(p, { server: { authorizeClient: () => false } });
    expectLocal(r.server, 'bad_client_key');
    expect(codeOf(r.client)).to.equal('remote:bad_client_key');
  },

  async 'anonymous client refused where an account key is required → bad_client_key'() {
    const p = await parties();
    const r = await handshake(p, {
      client: { identity: null },
      server: { authorizeClient: (c) => c.key !== null },
    });
    expectLocal(r.server, 'bad_client_key');
    expectFailed(r.client);
  },

  async 'client signing with a key other than the one it presents → bad_signature'() {
    const p = await parties();
    const other = await newSigner();
    const r = await handshake(p, {
      client: { identity: { publicKey: p.clientSigner.publicKey, sign: other.sign } },
    });
    expectLocal(r.server, 'bad_signature');
    expectFailed(r.client);
  },

  async 'server signing with a key other than the one it presents → bad_signature'() {
    const p = await parties();
    const other = await newSigner();
    const r = await handshake(p, {
      server: {
        resolveTarget: () => ({ signer: { publicKey: p.serverSigner.publicKey, sign: other.sign } }),
      },
    });
    expectLocal(r.client, 'bad_signature');
    expectFailed(r.server);
  },

  async 'tampered transcript byte in client_hello → decrypt_failed (handshake keys are salted with TH2)'() {
    const p = await parties();
    const r = await handshake(p, {
      tamper: (dir, f, i) => [
        dir === 'c2s' && i === 0
          ? rewriteJson(f, (v) => {
              v.nonce = `${(v.nonce as string)[0] === 'A' ? 'B' : 'A'}${(v.nonce as string).slice(1)}`;
            })
          : f,
      ],
    });
    expectLocal(r.client, 'decrypt_failed');
    expectFailed(r.server);
  },

  async 'tampered transcript byte in server_hello → decrypt_failed (handshake keys are salted with TH2)'() {
    const p = await parties();
    const r = await handshake(p, {
      tamper: (dir, f, i) => [
        dir === 's2c' && i === 0
          ? rewriteJson(f, (v) => {
              v.nonce = `${(v.nonce as string)[0] === 'A' ? 'B' : 'A'}${(v.nonce as string).slice(1)}`;
            })
          : f,
      ],
    });
    expectLocal(r.client, 'decrypt_failed');
    expectFailed(r.server);
  },

  async 'tampered encrypted handshake byte (server_auth, client_finish) → decrypt_failed'() {
    const p = await parties();
    const r1 = await handshake(p, {
      tamper: (dir, f, i) => [dir === 's2c' && i === 1 ? flipByte(f, 20) : f],
    });
    expectLocal(r1.client, 'decrypt_failed');
    expectFailed(r1.server);
    const r2 = await handshake(p, {
      tamper: (dir, f, i) => [dir === 'c2s' && i === 1 ? flipByte(f, -1) : f],
    });
    expectLocal(r2.server, 'decrypt_failed');
    expectFailed(r2.client);
  },

  async 'reflected handshake message (client_hello back to the client) → reflection'() {
    const p = await parties();
    const r = await handshake(p, {
      tamper: (dir, f, i, back) => {
        if (dir === 'c2s' && i === 0) back(f);
        return [f];
      },
    });
    expectLocal(r.client, 'reflection');
    expectFailed(r.server);
  },

  async 'reflected handshake message (server_auth back to the server) → reflection'() {
    const p = await parties();
    const r = await handshake(p, {
      tamper: (dir, f, i, back) => {
        if (dir === 's2c' && i === 1) back(f);
        return [f];
      },
    });
    expectLocal(r.server, 'reflection');
    expectFailed(r.client);
  },

  async 'reflected record (own record sent back) → reflection'() {
    const p = await parties();
    const { client, server, relay } = await established(p);
    server.onData = () => {};
    await client.send(text('to the server'));
    await sleep(5);
    relay.inject('s2c', relay.seen.c2s[C2S_FIRST_RECORD] as Bytes);
    expect((await client.closed)?.code).to.equal('reflection');
    expect((await server.closed)?.code).to.equal('reflection');
  },

  async 'replayed record → replay'() {
    const p = await parties();
    const { client, server } = await established(p, {
      tamper: (dir, f, i) => (dir === 'c2s' && i === C2S_FIRST_RECORD + 1 ? [f, f] : [f]),
    });
    server.onData = () => {};
    await client.send(text('one'));
    await client.send(text('two'));
    expect((await server.closed)?.code).to.equal('replay');
    expect((await client.closed)?.code).to.equal('replay');
  },

  async 'reordered records → out_of_order'() {
    const p = await parties();
    let held: Bytes | undefined;
    const { client, server } = await established(p, {
      tamper: (dir, f, i) => {
        if (dir !== 'c2s' || i < C2S_FIRST_RECORD) return [f];
        if (i === C2S_FIRST_RECORD) {
          held = f;
          return [];
        }
        return held ? [f, held] : [f];
      },
    });
    const got: string[] = [];
    server.onData = (b) => got.push(untext(b));
    await client.send(text('first'));
    await client.send(text('second'));
    expect((await server.closed)?.code).to.equal('out_of_order');
    expect(got).to.deep.equal([]);
  },

  async 'dropped record → out_of_order'() {
    const p = await parties();
    const { client, server } = await established(p, {
      tamper: (dir, f, i) => (dir === 'c2s' && i === C2S_FIRST_RECORD ? [] : [f]),
    });
    server.onData = () => {};
    await client.send(text('lost'));
    await client.send(text('next'));
    expect((await server.closed)?.code).to.equal('out_of_order');
  },

  async 'truncated record → decrypt_failed (or malformed when shorter than header + tag)'() {
    const p = await parties();
    const a = await established(p, {
      tamper: (dir, f, i) => [dir === 'c2s' && i === C2S_FIRST_RECORD ? f.slice(0, f.length - 1) : f],
    });
    await a.client.send(text('truncate me'));
    expect((await a.server.closed)?.code).to.equal('decrypt_failed');
    const b = await established(p, {
      tamper: (dir, f, i) => [dir === 'c2s' && i === C2S_FIRST_RECORD ? f.slice(0, 12) : f],
    });
    await b.client.send(text('truncate me'));
    expect((await b.server.closed)?.code).to.equal('malformed');
  },

  async 'transport cut without a close record → closed (truncation is visible)'() {
    const p = await parties();
    const { client, server, relay } = await established(p);
    relay.client.close(1006, 'cut');
    expect((await server.closed)?.code).to.equal('closed');
    expect((await client.closed)?.code).to.equal('closed');
  },

  async 'downgrade attempt: suite stripped from client_hello → downgrade'() {
    const p = await parties();
    const both = [SUITE_AES256.id, SUITE_AES128.id];
    const honest = await established(p, { client: { suites: both }, server: { suites: both } });
    expect(honest.client.info.suite).to.equal(SUITE_AES256.id);
    await honest.client.close();
    const strip = (dir: string, f: Bytes, i: number) =>
      dir === 'c2s' && i === 0
        ? rewriteJson(f, (v) => {
            v.suites = [SUITE_AES128.id];
          })
        : f;
    const r = await handshake(p, {
      client: { suites: both },
      server: { suites: both },
      tamper: (d, f, i) => [strip(d, f, i)],
    });
    expectLocal(r.client, 'downgrade');
    expectFailed(r.server);
    // Hiding it by also rewriting the server's list changes TH2: the handshake keys no longer match.
    const r2 = await handshake(p, {
      client: { suites: both },
      server: { suites: both },
      tamper: (d, f, i) => [
        d === 's2c' && i === 0
          ? rewriteJson(f, (v) => {
              (v.supported as { suites: string[] }).suites = [SUITE_AES128.id];
            })
          : strip(d, f, i),
      ],
    });
    expectLocal(r2.client, 'decrypt_failed');
    expectFailed(r2.server);
  },

  async 'no common version → version_mismatch; no common suite → unsupported_suite'() {
    const p = await parties();
    const r = await handshake(p, { client: { versions: [2] } });
    expectLocal(r.server, 'version_mismatch');
    expect(codeOf(r.client)).to.equal('remote:version_mismatch');
    const r2 = await handshake(p, { client: { suites: [SUITE_AES128.id] } });
    expectLocal(r2.server, 'unsupported_suite');
    expect(codeOf(r2.client)).to.equal('remote:unsupported_suite');
  },

  async 'unknown target → unknown_target'() {
    const p = await parties();
    const r = await handshake(p, { client: { target: { kind: 'sfs', id: 'nobody' } } });
    expectLocal(r.server, 'unknown_target');
    expect(codeOf(r.client)).to.equal('remote:unknown_target');
  },

  async 'oversized frame → frame_too_large (handshake and records); oversized send is refused locally'() {
    const p = await parties();
    const r = await handshake(p, {
      server: { maxFrameBytes: 1024 },
      tamper: (dir, f, i) => (dir === 'c2s' && i === 0 ? [new Uint8Array(2048).fill(0x01)] : [f]),
    });
    expectLocal(r.server, 'frame_too_large');
    expectFailed(r.client);
    const { client, server, relay } = await established(p);
    await expectRejects(client.send(new Uint8Array(DEFAULT_MAX_FRAME_BYTES)), 'frame_too_large');
    expect(client.isOpen).to.equal(true);
    relay.inject('c2s', new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1).fill(0x10));
    expect((await server.closed)?.code).to.equal('frame_too_large');
  },

  async 'garbage before the handshake → unexpected_message / malformed'() {
    const p = await parties();
    const garbage = async (frame: Bytes | string) => {
      const [peer, server] = memoryTransportPair();
      const idle = memoryTransportPair()[0];
      const r = handshake(p, { transports: { client: idle, server }, client: { handshakeTimeoutMs: 50 } });
      if (typeof frame === 'string') server.onmessage?.(frame);
      else peer.send(frame);
      return (await r).server;
    };
    expectLocal(await garbage(text('GET / HTTP/1.1\r\n\r\n')), 'unexpected_message');
    expectLocal(await garbage(Uint8Array.of(0x01, 0x7b, 0x7d, 0xff)), 'malformed');
    expectLocal(await garbage(text('\x01{"type":"client_hello"}')), 'malformed');
    expectLocal(await garbage('a text frame'), 'malformed');
  },

  async 'broken key succession → bad_succession; chain from an unpinned key → bad_server_key'() {
    const old = await newSigner();
    const current = await newSigner();
    const stranger = await newSigner();
    const good = await createSuccessionRecord(old, current.publicKey);
    const p = { serverSigner: current, clientSigner: await newSigner() };
    const run = (succession: (typeof good)[]) =>
      handshake(p, {
        client: { server: { keys: [old.publicKey] } },
        server: { resolveTarget: () => ({ signer: current, succession }) },
      });
    const badSig = { ...good, sig: flipByte(good.sig, 5) };
    expectLocal((await run([badSig])).client, 'bad_succession');
    const forged = await createSuccessionRecord(stranger, current.publicKey);
    expectLocal((await run([{ ...forged, old: old.publicKey }])).client, 'bad_succession');
    const wrongEnd = await createSuccessionRecord(old, stranger.publicKey);
    expectLocal((await run([wrongEnd])).client, 'bad_succession');
    expectLocal((await run([forged])).client, 'bad_server_key');
    expectLocal((await run([])).client, 'bad_server_key');
  },

  async 'handshake timeout → timeout'() {
    const p = await parties();
    const [c] = memoryTransportPair();
    const r = await handshake(p, {
      transports: { client: c, server: memoryTransportPair()[1] },
      client: { handshakeTimeoutMs: 50 },
      server: { handshakeTimeoutMs: 50 },
    });
    expectLocal(r.client, 'timeout');
    expectLocal(r.server, 'timeout');
  },
};
