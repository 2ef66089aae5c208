// The outbound HTTP client against local receivers: loopback and private addresses refused unless the
// allow-list names the host or its range, a name resolving to an internal address refused (all of its
// addresses are checked), redirects returned rather than followed, the response cap and the deadline.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import {
  createOutboundClient,
  isPublicAddress,
  OutboundError,
  type Resolver,
} from '../../../../auth-server/common/http/outbound.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function rejection(promise: Promise<unknown>): Promise<OutboundError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => {
      expect(err).to.be.instanceOf(OutboundError);
      return err as OutboundError;
    },
  );
}

describe('http: outbound client', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  let handler: Handler;

  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => {
    hits.length = 0;
    handler = (_req, res) => res.end('ok');
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** Names for the tests: `receiver.test` is the local server, `rebind.test` is public and internal. */
  const resolve: Resolver = async (host) => {
    if (host === 'receiver.test') return [{ address: '127.0.0.1', family: 4 }];
    if (host === 'public.test') return [{ address: '93.184.215.14', family: 4 }];
    if (host === 'rebind.test')
      return [
        { address: '93.184.215.14', family: 4 },
        { address: '10.1.2.3', family: 4 },
      ];
    throw new Error('ENOTFOUND');
  };

  it('knows which addresses are public', () => {
    for (const a of ['8.8.8.8', '93.184.215.14', '2606:4700::1111'])
      expect(isPublicAddress(a), a).to.equal(true);
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '64:ff9b::a00:1',
      '224.0.0.1',
      'not-an-address',
    ])
      expect(isPublicAddress(a), a).to.equal(false);
  });

  it('refuses loopback by address and by name unless allow-listed; nothing is sent', async () => {
    const client = createOutboundClient({ allow: [], resolve });
    expect((await rejection(client.request(`http://127.0.0.1:${port}/a`))).code).to.equal(
      'forbidden_address',
    );
    expect((await rejection(client.request(`http://receiver.test:${port}/b`))).code).to.equal(
      'forbidden_address',
    );
    expect((await rejection(client.request(`http://[::1]:${port}/c`))).code).to.equal('forbidden_address');
    expect(hits).to.deep.equal([]);
  });

  it('reaches loopback when the allow-list names the host, the address or its range', async () => {
    for (const allow of [['receiver.test'], ['127.0.0.1'], ['127.0.0.0/8']]) {
      const client = createOutboundClient({ allow, resolve });
      const res = await client.request(`http://receiver.test:${port}/ok`, { method: 'POST', body: 'x' });
      expect(res.status, allow[0]).to.equal(200);
      expect(res.body.toString()).to.equal('ok');
    }
    expect(hits).to.deep.equal(['/ok', '/ok', '/ok']);
  });

  it('refuses a name that resolves to an internal address besides a public one', async () => {
    const client = createOutboundClient({ allow: [], resolve });
    expect((await rejection(client.checkUrl('https://rebind.test/hook'))).code).to.equal('forbidden_address');
    expect((await rejection(client.checkUrl('https://unknown.test/hook'))).code).to.equal('dns_failed');
    expect((await client.checkUrl('https://public.test/hook')).href).to.equal('https://public.test/hook');
  });

  it('checkUrl: https unless the host is allow-listed, no credentials, http(s) only', async () => {
    const client = createOutboundClient({ allow: ['receiver.test'], resolve });
    expect(
      (await rejection(client.checkUrl('http://public.test/hook', { requireHttps: true }))).code,
    ).to.equal('https_required');
    expect(
      (await client.checkUrl(`http://receiver.test:${port}/`, { requireHttps: true })).hostname,
    ).to.equal('receiver.test');
    expect((await rejection(client.checkUrl('https://u:p@public.test/'))).code).to.equal('invalid_url');
    expect((await rejection(client.checkUrl('ftp://public.test/'))).code).to.equal('invalid_url');
    expect((await rejection(client.checkUrl('/relative'))).code).to.equal('invalid_url');
  });

  it('returns a redirect as it is and never follows it', async () => {
    handler = (req, res) => {
      if (req.url === '/from') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/to` }).end();
      } else res.end('followed');
    };
    const client = createOutboundClient({ allow: ['127.0.0.1'] });
    const res = await client.request(`http://127.0.0.1:${port}/from`);
    expect(res.status).to.equal(302);
    expect(res.headers.location).to.equal(`http://127.0.0.1:${port}/to`);
    expect(hits).to.deep.equal(['/from']);
  });

  it('fails a response larger than the cap', async () => {
    handler = (_req, res) => res.end('x'.repeat(10_000));
    const client = createOutboundClient({ allow: ['127.0.0.1'], maxResponseBytes: 1000 });
    expect((await rejection(client.request(`http://127.0.0.1:${port}/big`))).code).to.equal(
      'response_too_large',
    );
    const roomy = createOutboundClient({ allow: ['127.0.0.1'], maxResponseBytes: 10_000 });
    expect((await roomy.request(`http://127.0.0.1:${port}/big`)).body.length).to.equal(10_000);
  });

  it('gives up on a receiver that never answers', async () => {
    handler = () => {};
    const client = createOutboundClient({ allow: ['127.0.0.1'], timeoutMs: 200 });
    expect((await rejection(client.request(`http://127.0.0.1:${port}/hang`))).code).to.equal('timeout');
  });

  it('refuses a malformed allow-list entry at construction', () => {
    expect(() => createOutboundClient({ allow: ['10.0.0.0/33'] })).to.throw(RangeError);
    expect(() => createOutboundClient({ allow: ['bad host!'] })).to.throw(RangeError);
  });
});
