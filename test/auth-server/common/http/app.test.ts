import Router from '@koa/router';
import { expect } from 'chai';
import { z } from 'zod';
import { HttpProblem, problems } from '../../../../auth-server/common/errors.js';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { readJson } from '../../../../auth-server/common/http/body.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import { createMetrics } from '../../../../auth-server/common/metrics.js';
import { serve } from '../../../helpers/http.js';

const logger = createLogger({ level: 'silent', format: 'json' });

describe('http: app, problem JSON and bodies', () => {
  let url: string;
  let close: () => Promise<void>;
  const stored: unknown[] = [];
  const metrics = createMetrics({ defaults: false });

  before(async () => {
    const app = createHttpApp({ logger, metrics });
    const router = new Router();
    router.get('/boom', () => {
      throw new Error('secret internal detail');
    });
    router.get('/conflict', () => {
      throw problems.conflict('name taken');
    });
    router.get('/limited', () => {
      throw problems.rateLimited(7);
    });
    router.post('/items', async (ctx) => {
      const body = await readJson(ctx, z.object({ name: z.string().min(1) }), 64);
      stored.push(body);
      ctx.status = 201;
      ctx.body = body;
    });
    app.use(router.routes()).use(router.allowedMethods());
    const l = await serve(app);
    url = l.url;
    close = () => l.close(100);
  });
  after(() => close());
  beforeEach(() => {
    stored.length = 0;
  });

  async function problem(res: Response, status: number, code: string) {
    expect(res.status).to.equal(status);
    expect(res.headers.get('content-type')).to.contain('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).to.equal(code);
    expect(body.status).to.equal(status);
    return body;
  }

  it('answers unknown routes with a 404 problem', async () => {
    await problem(await fetch(`${url}/nope`), 404, 'not_found');
  });

  it('answers a wrong method with 405', async () => {
    await problem(await fetch(`${url}/items`), 405, 'method_not_allowed');
  });

  it('hides internal error messages behind a 500 problem', async () => {
    const body = await problem(await fetch(`${url}/boom`), 500, 'internal');
    expect(JSON.stringify(body)).not.to.contain('secret internal detail');
  });

  it('renders named problems with their headers', async () => {
    const body = await problem(await fetch(`${url}/conflict`), 409, 'conflict');
    expect(body.detail).to.equal('name taken');
    const limited = await fetch(`${url}/limited`);
    await problem(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).to.equal('7');
  });

  it('sets security headers and a request id', async () => {
    const res = await fetch(`${url}/nope`);
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('accepts a valid JSON body', async () => {
    const res = await fetch(`${url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a' }),
    });
    expect(res.status).to.equal(201);
    expect(stored).to.deep.equal([{ name: 'a' }]);
  });

  const post = (body: string, type = 'application/json') =>
    fetch(`${url}/items`, { method: 'POST', headers: { 'content-type': type }, body });

  it('rejects a body over the cap with 413 and stores nothing', async () => {
    await problem(await post(JSON.stringify({ name: 'x'.repeat(100) })), 413, 'body_too_large');
    expect(stored).to.deep.equal([]);
  });

  it('rejects a non-JSON content type with 415', async () => {
    await problem(await post('name=a', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    expect(stored).to.deep.equal([]);
  });

  it('rejects malformed JSON with 400', async () => {
    await problem(await post('{"name":'), 400, 'bad_request');
    expect(stored).to.deep.equal([]);
  });

  it('rejects a body of the wrong shape with field errors', async () => {
    const body = await problem(await post(JSON.stringify({ name: '' })), 400, 'invalid_body');
    expect(body.errors).to.be.an('array').with.lengthOf(1);
    expect((body.errors as { path: string }[])[0]?.path).to.equal('name');
    expect(stored).to.deep.equal([]);
  });

  it('counts requests by route template in metrics', async () => {
    const text = await metrics.registry.metrics();
    expect(text).to.match(/nextauth_http_requests_total\{method="POST",route="\/items",status="201"\} \d+/);
  });

  it('HttpProblem exposes only client errors', () => {
    expect(new HttpProblem(400, 'bad_request').expose).to.equal(true);
    expect(new HttpProblem(503, 'unavailable').expose).to.equal(false);
  });
});
