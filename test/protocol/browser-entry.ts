// Browser bundle entry: runs the shared channel cases and vector replays in the page with the browser's WebCrypto.
import { z } from 'zod';
import { Channel, connect, defineMessages, fromB64u, hex, webSocketTransport } from '../../protocol/index.js';
import { type Case, negative, roundTrip } from './cases.js';
import { vectorCases } from './vector-cases.js';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

const all: Record<string, Case> = { ...vectorCases, ...roundTrip, ...negative };

/** Browser WebSocket + browser WebCrypto client against the Node server of the test (ws, Node WebCrypto). */
const params = new URLSearchParams(location.search);
const wsUrl = params.get('ws');
const serverKey = params.get('key');
let interop: { transcriptHash: string; answer: string } | undefined;
if (wsUrl && serverKey) {
  all['browser client ⇄ Node server over a real WebSocket'] = async () => {
    const registry = defineMessages({
      requests: {
        echo: { request: z.object({ text: z.string() }), response: z.object({ text: z.string() }) },
      },
      pushes: {},
    });
    const session = await connect(await webSocketTransport(new WebSocket(wsUrl)), {
      target: { kind: 'ns', id: 'default' },
      server: { keys: [fromB64u(serverKey)] },
      identity: null,
    });
    const channel = new Channel(session, registry);
    const answer = await channel.request('echo', { text: 'from chromium' });
    interop = { transcriptHash: hex(session.info.transcriptHash), answer: answer.text };
    await channel.close();
  };
}
const results: Result[] = [];
const w = globalThis as unknown as { __results?: Result[]; __done?: boolean; __secure?: boolean };
w.__secure = globalThis.isSecureContext;
for (const [name, fn] of Object.entries(all)) {
  try {
    await fn();
    results.push({ name, ok: true });
  } catch (err) {
    results.push({
      name,
      ok: false,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
}
w.__results = results;
(w as { __interop?: typeof interop }).__interop = interop;
w.__done = true;
