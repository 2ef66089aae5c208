// `GET /idp/api/v1/openapi.json`: a valid OpenAPI 3.1 document (swagger-parser) generated from the zod
// schemas the routes validate with, listing exactly the router's routes; the answers of a walk through
// every operation (successes and problems) match it. Also the signing keys: list and rotate.
import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import type { NsPeer } from '../../../auth-server/common/peers.js';
import { createIdpApiRouter } from '../../../idp/api/router.js';
import type { ClientRepository } from '../../../idp/oidc/clients.js';
import type { SigningKeyStore } from '../../../idp/oidc/signing-keys.js';
import { openApiChecker, type ResponseChecker } from '../../auth-server/ns/api/openapi-check.js';
import { type ApiFixture, startApiFixture } from './fixture.js';

type Json = Record<string, unknown>;

describe('idp/api: OpenAPI document and signing keys', function () {
  this.timeout(60_000);
  let f: ApiFixture;
  let document: Json;
  let checker: ResponseChecker;
  before(async () => {
    f = await startApiFixture();
    const res = await fetch(`${f.e.url}/idp/api/v1/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.contain('application/json');
    document = (await res.json()) as Json;
    checker = openApiChecker(f.e.url, document);
  });
  after(() => f?.close());

  it('is served without a key and validates as OpenAPI 3.1', async () => {
    expect(document.openapi).to.equal('3.1.0');
    expect(document.servers).to.deep.equal([{ url: `${f.e.url}/idp` }]);
    await SwaggerParser.validate(structuredClone(document) as never);
  });

  it('documents exactly the routes the router serves, each with the X-apikey scheme and its role', () => {
    const stub = { publicUrl: f.e.url } as unknown as {
      publicUrl: string;
      ns: NsPeer;
      clients: ClientRepository;
      keys: SigningKeyStore;
    };
    const routes = new Set<string>();
    for (const layer of createIdpApiRouter(stub).stack) {
      for (const method of layer.methods) {
        if (method === 'HEAD') continue;
        routes.add(
          `${method.toLowerCase()} ${String(layer.path)
            .replace(/^\/idp/, '')
            .replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
        );
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
      for (const [method, op] of Object.entries(item as Record<string, Json>)) {
        documented.add(`${method} ${path}`);
        if (path.endsWith('openapi.json')) continue;
        expect(op.security).to.deep.equal([{ apiKey: [] }]);
        expect(op['x-nextauth-access']).to.deep.equal({ roles: ['servers'] });
        expect(op.responses).to.include.keys('401', '403', '404');
      }
    }
    expect([...documented].sort()).to.deep.equal([...routes].sort());
    expect(routes.size).to.equal(15);
  });

  it('every answer of a walk through the operations matches the document', async () => {
    const base = '/api/v1/servers/{server}/oidc';
    const c = (method: string, path: string, key: string | undefined, body?: unknown) =>
      f.call(method, path, key, body);
    const k = f.keys.servers;
    await checker.check(
      await c('POST', '/servers/default/oidc/clients', k, {
        clientId: 'doc',
        redirectUris: ['https://d.example/cb'],
      }),
      'POST',
      `${base}/clients`,
    );
    await checker.check(
      await c('POST', '/servers/default/oidc/clients', k, {
        clientId: 'doc',
        redirectUris: ['https://d.example/cb'],
      }),
      'POST',
      `${base}/clients`,
    );
    await checker.check(
      await c('POST', '/servers/default/oidc/clients', k, { clientId: 'bad id' }),
      'POST',
      `${base}/clients`,
    );
    await checker.check(
      await c('POST', '/servers/default/oidc/clients', undefined, {}),
      'POST',
      `${base}/clients`,
    );
    await checker.check(await c('GET', '/servers/default/oidc/clients?limit=1', k), 'GET', `${base}/clients`);
    await checker.check(await c('GET', '/servers/default/oidc/clients?limit=0', k), 'GET', `${base}/clients`);
    await checker.check(
      await c('GET', '/servers/default/oidc/clients', f.keys.users),
      'GET',
      `${base}/clients`,
    );
    await checker.check(
      await c('GET', '/servers/default/oidc/clients/doc', k),
      'GET',
      `${base}/clients/{clientId}`,
    );
    await checker.check(
      await c('GET', '/servers/default/oidc/clients/none', k),
      'GET',
      `${base}/clients/{clientId}`,
    );
    await checker.check(
      await c('PATCH', '/servers/default/oidc/clients/doc', k, { subjectType: 'pairwise' }),
      'PATCH',
      `${base}/clients/{clientId}`,
    );
    await checker.check(
      await c('PATCH', '/servers/default/oidc/clients/doc', k, { grantTypes: ['client_credentials'] }),
      'PATCH',
      `${base}/clients/{clientId}`,
    );
    await checker.check(
      await c('DELETE', '/servers/default/oidc/clients/doc', k),
      'DELETE',
      `${base}/clients/{clientId}`,
    );
    await checker.check(
      await c('DELETE', '/servers/default/oidc/clients/doc', k),
      'DELETE',
      `${base}/clients/{clientId}`,
    );
    await checker.check(await c('GET', '/servers/default/oidc/keys', f.keys.acme), 'GET', `${base}/keys`);
    await checker.check(await c('GET', '/servers/default/oidc/keys', k), 'GET', `${base}/keys`);
    await checker.check(
      await c('POST', '/servers/default/oidc/keys/rotate', k),
      'POST',
      `${base}/keys/rotate`,
    );
    const saml = '/api/v1/servers/{server}/saml/keys';
    await checker.check(await c('GET', '/servers/default/saml/keys', k), 'GET', saml);
    await checker.check(
      await c('POST', '/servers/default/saml/keys/rotate', k, { use: 'nope' }),
      'POST',
      `${saml}/rotate`,
    );
    await checker.check(
      await c('POST', '/servers/default/saml/keys/rotate', k, { use: 'encryption' }),
      'POST',
      `${saml}/rotate`,
    );
    expect(checker.checked()).to.equal(19);
  });

  it('keys: the list shows public information only; a rotation promotes the published next key', async () => {
    const list = async () =>
      (
        (await (await f.call('GET', '/servers/acme/oidc/keys', f.keys.acme)).json()) as {
          keys: { kid: string; alg: string; state: string }[];
        }
      ).keys;
    const before = await list();
    expect(before.map((key) => `${key.alg}:${key.state}`)).to.deep.equal([
      'RS256:current',
      'ES256:current',
      'RS256:next',
      'ES256:next',
    ]);
    expect(JSON.stringify(before)).to.not.match(/"(d|p|q|dp|dq|qi|n|x|y)":/);
    const res = await f.call('POST', '/servers/acme/oidc/keys/rotate', f.keys.acme);
    expect(res.status).to.equal(200);
    const after = ((await res.json()) as { keys: { kid: string; alg: string; state: string }[] }).keys;
    const kid = (keys: typeof before, alg: string, state: string) =>
      keys.find((key) => key.alg === alg && key.state === state)?.kid;
    expect(kid(after, 'RS256', 'current')).to.equal(kid(before, 'RS256', 'next'));
    expect(kid(after, 'RS256', 'retired')).to.equal(kid(before, 'RS256', 'current'));
    const rotated = (await f.audit('oidc_keys.rotated')).filter((e) => e.subject.id === 'acme');
    expect(rotated).to.have.length(1);
  });
});
