import { connect } from 'node:net';
import { expect } from 'chai';
import { createAdminApp } from '../../../../auth-server/common/http/admin.js';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { listen } from '../../../../auth-server/common/http/server.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import { createMetrics } from '../../../../auth-server/common/metrics.js';
import { streamStates } from '../../../../auth-server/ns/api/sse.js';
import { serve } from '../../../helpers/http.js';

const logger = createLogger({ level: 'silent', format: 'json' });

describe('http: admin listener', () => {
  let dbUp = true;
  let accepting = true;
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    const app = createAdminApp({
      logger,
      metrics: createMetrics(),
      accepting: () => accepting,
      checkTimeoutMs: 200,
      checks: () => [
        {
          name: 'db:ns',
          check: async () => {
            if (!dbUp) throw new Error('connection refused');
          },
        },
        { name: 'kv', check: () => Promise.resolve() },
      ],
    });
    const l = await serve(app);
    url = l.url;
    close = () => l.close(100);
  });
  after(() => close());
  afterEach(() => {
    dbUp = true;
    accepting = true;
  });

  it('/healthz is 200', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
  });

  it('/readyz is 200 when every dependency answers', async () => {
    const res = await fetch(`${url}/readyz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ready', checks: { 'db:ns': 'ok', kv: 'ok' } });
  });

  it('/readyz is 503 naming the failing dependency, then recovers', async () => {
    dbUp = false;
    const res = await fetch(`${url}/readyz`);
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks['db:ns']).to.equal(
      'connection refused',
    );
    dbUp = true;
    expect((await fetch(`${url}/readyz`)).status).to.equal(200);
  });

  it('/readyz is 503 once shutdown has begun', async () => {
    accepting = false;
    const res = await fetch(`${url}/readyz`);
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { shuttingDown?: boolean }).shuttingDown).to.equal(true);
  });

  it('/readyz fails a check that hangs', async () => {
    const app = createAdminApp({
      logger,
      metrics: createMetrics({ defaults: false }),
      accepting: () => true,
      checkTimeoutMs: 50,
      checks: () => [{ name: 'kv', check: () => new Promise(() => {}) }],
    });
    const l = await serve(app);
    try {
      const res = await fetch(`${l.url}/readyz`);
      expect(res.status).to.equal(503);
      expect(((await res.json()) as { checks: Record<string, string> }).checks.kv).to.match(/timed out/);
    } finally {
      await l.close(100);
    }
  });

  it('/metrics serves Prometheus text', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.contain('text/plain');
    expect(await res.text()).to.contain('nextauth_process_cpu_seconds_total');
  });
});

describe('http: graceful close', () => {
  it('lets an in-flight request finish and refuses new connections', async () => {
    const app = createHttpApp({ logger });
    let release: () => void = () => {};
    app.use(async (ctx) => {
      await new Promise<void>((r) => {
        release = r;
      });
      ctx.body = 'done';
    });
    const l = await listen(app.callback(), 0, '127.0.0.1');
    const url = `http://127.0.0.1:${l.port}/`;
    const inFlight = fetch(url);
    while (l.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = l.close(5000);
    await new Promise((r) => setTimeout(r, 20));
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(l.port, '127.0.0.1');
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).to.equal('ECONNREFUSED');
    release();
    const res = await inFlight;
    expect(await res.text()).to.equal('done');
    await closed;
  });

  it('ends server-sent event streams as soon as it starts closing, complete events first', async function () {
    // The close timeout is far longer than this test's: only the closing event can end the stream in time.
    this.timeout(10_000);
    const app = createHttpApp({ logger });
    let unsubscribed = false;
    app.use((ctx) =>
      streamStates<{ n: number }>(ctx, {
        read: async () => ({ n: 1 }),
        subscribe: async () => async () => {
          unsubscribed = true;
        },
        isFinal: () => false,
        logger,
      }),
    );
    const l = await listen(app.callback(), 0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${l.port}/`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: state')) text += new TextDecoder().decode((await reader.read()).value);
    const closed = l.close(600_000);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await closed;
    expect(text).to.contain('retry: 3000').and.to.contain('event: state\ndata: {"n":1}\n\n');
    expect(unsubscribed).to.equal(true);
    expect(l.inFlight()).to.equal(0);
  });

  it('drops connections that outlive the timeout', async () => {
    const app = createHttpApp({ logger });
    app.use(() => new Promise(() => {}));
    const l = await listen(app.callback(), 0, '127.0.0.1');
    const hanging = fetch(`http://127.0.0.1:${l.port}/`).catch((err: Error) => err);
    while (l.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    await l.close(50);
    expect(await hanging).to.be.instanceOf(Error);
  });
});
