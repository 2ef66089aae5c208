// `GET /ns/api/v2/openapi.json`: a valid OpenAPI 3.1 document (swagger-parser), generated from the zod
// schemas the routes validate with, covering exactly the /api/v2 routes the router has, and matching the
// session and enrol-link answers a client receives (servers and API keys: their own suites check theirs).
import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import type { NsApiDeps } from '../../../../auth-server/ns/api/context.js';
import { createNsRouter } from '../../../../auth-server/ns/api/router.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

type Json = Record<string, unknown>;

describe('ns REST v2 OpenAPI document', () => {
  let h: Harness;
  let document: Json;
  before(async () => {
    h = await startHarness();
    const res = await fetch(`${h.url}/ns/api/v2/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.contain('application/json');
    document = (await res.json()) as Json;
  });
  after(() => h.close());

  it('is served without a key and validates as OpenAPI 3.1', async () => {
    expect(document.openapi).to.equal('3.1.0');
    expect(document.servers).to.deep.equal([{ url: 'http://127.0.0.1:3000/ns' }]);
    // validate() dereferences in place: give it a copy.
    await SwaggerParser.validate(structuredClone(document) as never);
    // The validator is live: a dangling reference is refused.
    const broken = structuredClone(document) as { components: { schemas: Json } };
    delete broken.components.schemas.Problem;
    let refused = false;
    await SwaggerParser.validate(broken as never).catch(() => {
      refused = true;
    });
    expect(refused).to.equal(true);
  });

  it('documents exactly the /api/v2 routes the router serves', () => {
    // Registering routes only stores their dependencies, so stand-ins do for listing them.
    // With push login and transactions on (NS has an MC), as every runtime has.
    const stub = {
      publicUrl: 'http://127.0.0.1:3000',
      kv: {},
      clock: {},
      push: {},
      transactions: {},
      returningUsers: {},
    } as unknown as NsApiDeps;
    const routes = new Set<string>();
    for (const layer of createNsRouter(stub).stack) {
      const path = String(layer.path);
      if (!path.startsWith('/api/v2/')) continue;
      for (const method of layer.methods) {
        if (method === 'HEAD') continue;
        routes.add(`${method.toLowerCase()} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
      for (const method of Object.keys(item)) documented.add(`${method} ${path}`);
    }
    expect([...documented].sort()).to.deep.equal([...routes].sort());
    expect(routes.size).to.be.greaterThan(14);
  });

  it('documents problem JSON, the roles and the X-apikey scheme for every operation', () => {
    const problem = { $ref: '#/components/schemas/Problem' };
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(item)) {
        const access = op['x-nextauth-access'] as Json;
        const responses = op.responses as Record<string, { content?: Record<string, { schema: unknown }> }>;
        if ('public' in access) continue;
        expect(op.security, `${method} ${path}`).to.deep.equal([{ apiKey: [] }]);
        expect(
          responses['401']?.content?.['application/problem+json']?.schema,
          `${method} ${path}`,
        ).to.deep.equal(problem);
        expect(op.description).to.match(/API key|root API key/);
      }
    }
    const components = (document.components as Json).schemas as Record<string, Json>;
    for (const [name, schema] of Object.entries(components)) {
      expect(schema, name).to.not.have.any.keys('$schema', '$id');
    }
  });

  it('generates request bodies from the validating schemas (limits and patterns included)', () => {
    const schemas = (document.components as Json).schemas as Record<string, Json>;
    const create = schemas.CreateServerBody as {
      properties: Record<string, Json>;
      additionalProperties: unknown;
    };
    expect(create.additionalProperties).to.equal(false);
    expect(create.properties.name).to.include({ maxLength: 63 });
    expect(create.properties.name?.pattern).to.be.a('string');
    const key = schemas.CreateApiKeyBody as { properties: { roles: { items: { enum: string[] } } } };
    expect(key.properties.roles.items.enum).to.have.members([
      'sessions',
      'users',
      'accounts',
      'servers',
      'audit',
      'root',
    ]);
  });

  it('matches what the session and enrol-link endpoints answer, errors included', async () => {
    const checker = openApiChecker();
    const json = { 'content-type': 'application/json', 'x-apikey': rootKey };
    const created = await fetch(`${h.url}/ns/api/v2/session`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server: 'acme', ip: '198.51.100.7' }),
    });
    const { nonce } = (await checker.check(created, 'POST', '/api/v2/session')) as { nonce: string };
    const withNonce = { 'x-apikey': rootKey, 'x-nonce': nonce };
    await checker.check(
      await fetch(`${h.url}/ns/api/v2/session`, { headers: withNonce }),
      'GET',
      '/api/v2/session',
    );
    await checker.check(await fetch(`${h.url}/ns/api/v2/qr`, { headers: withNonce }), 'GET', '/api/v2/qr');
    const logout = await fetch(`${h.url}/ns/api/v2/logout`, { method: 'POST', headers: withNonce });
    await checker.check(logout, 'POST', '/api/v2/logout');
    const ended = await fetch(`${h.url}/ns/api/v2/qr`, { headers: withNonce });
    expect(ended.status).to.equal(409);
    await checker.check(ended, 'GET', '/api/v2/qr');
    const unknown = await fetch(`${h.url}/ns/api/v2/session`, {
      headers: { ...withNonce, 'x-nonce': 'nope' },
    });
    expect(unknown.status).to.equal(404);
    await checker.check(unknown, 'GET', '/api/v2/session');
    const noKey = await fetch(`${h.url}/ns/api/v2/session`, { headers: { 'x-nonce': nonce } });
    await checker.check(noKey, 'GET', '/api/v2/session');
    const link = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server: 'acme', userid: 'alice' }),
    });
    expect(link.status).to.equal(201);
    await checker.check(link, 'POST', '/api/v2/enrol-links');
    const bad = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ server: 'acme', userid: '' }),
    });
    await checker.check(bad, 'POST', '/api/v2/enrol-links');
    const self = await fetch(`${h.url}/ns/api/v2/openapi.json`);
    await checker.check(self, 'GET', '/api/v2/openapi.json');
    const audit = await fetch(`${h.url}/ns/api/v2/audit?limit=5`, { headers: { 'x-apikey': rootKey } });
    await checker.check(audit, 'GET', '/api/v2/audit');
    expect(checker.checked()).to.equal(11);
  });
});
