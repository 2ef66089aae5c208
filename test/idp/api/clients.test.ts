// `/idp/api/v1/servers/{server}/oidc/clients`: every operation, the secret shown only at creation, paging,
// PATCH re-checked by the registration rules, bad input → 4xx problem JSON with nothing stored, racing
// creations and updates, and an NS audit event for every change (never a secret).
import { expect } from 'chai';
import { type ApiFixture, problem, startApiFixture } from './fixture.js';

const clients = '/servers/default/oidc/clients';
const cb = 'https://app.example/cb';

describe('idp/api: OIDC clients', function () {
  this.timeout(60_000);
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f?.close());
  const post = (body: unknown, key = f.keys.servers) => f.call('POST', clients, key, body);
  const json = async (res: Response, status: number) => {
    const text = await res.text();
    expect(res.status, text).to.equal(status);
    return JSON.parse(text) as Record<string, unknown>;
  };

  it('creates a confidential client; the generated secret is in the creation answer only', async () => {
    const created = await json(await post({ clientId: 'webapp', redirectUris: [cb], name: 'Web app' }), 201);
    expect(created).to.deep.include({
      server: 'default',
      clientId: 'webapp',
      issuer: `${f.e.url}/oidc/default`,
      public: false,
      tokenEndpointAuthMethod: 'client_secret_basic',
      redirectUris: [cb],
      grantTypes: ['authorization_code', 'refresh_token'],
      name: 'Web app',
      subjectType: 'public',
      requirePar: false,
      thirdParty: false,
    });
    expect(created.secret).to.match(/^[A-Za-z0-9_-]{43}$/);
    const secret = created.secret as string;
    const one = await f.call('GET', `${clients}/webapp`, f.keys.servers);
    expect(one.headers.get('cache-control')).to.equal('no-store');
    const shown = await json(one, 200);
    expect(shown).to.not.have.property('secret');
    const listed = await (await f.call('GET', clients, f.keys.servers)).text();
    expect(listed).to.not.contain(secret);
    // Stored sealed, never as given.
    expect(JSON.stringify(await f.clientRows())).to.not.contain(secret);
  });

  it('a given secret is stored, not echoed; a public client has none', async () => {
    const given = 'a-given-secret-of-enough-length';
    const res = await post({ clientId: 'given', secret: given, redirectUris: [cb] });
    expect(await res.clone().text()).to.not.contain(given);
    expect(await json(res, 201)).to.not.have.property('secret');
    const pub = await json(
      await post({ clientId: 'spa', public: true, redirectUris: ['http://127.0.0.1:5173/cb'] }),
      201,
    );
    expect(pub).to.deep.include({ public: true, tokenEndpointAuthMethod: 'none' });
    expect(pub).to.not.have.property('secret');
  });

  it('lists by client_id one page at a time', async () => {
    // `demo` is the embedded runtime's own demo relying party (/demo).
    const first = await json(await f.call('GET', `${clients}?limit=3`, f.keys.servers), 200);
    expect((first.clients as { clientId: string }[]).map((c) => c.clientId)).to.deep.equal([
      'demo',
      'given',
      'spa',
    ]);
    expect(first.next_marker).to.be.a('string');
    const second = await json(
      await f.call('GET', `${clients}?limit=3&marker=${first.next_marker}`, f.keys.servers),
      200,
    );
    expect((second.clients as { clientId: string }[]).map((c) => c.clientId)).to.deep.equal(['webapp']);
    expect(second.next_marker).to.equal(null);
    // Another server's clients are its own.
    expect(
      (await json(await f.call('GET', '/servers/acme/oidc/clients', f.keys.acme), 200)).clients,
    ).to.deep.equal([]);
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=x',
      'marker=%21%21',
      'marker=eyJ2IjoyfQ',
      'sort=id',
    ]) {
      const p = await problem(await f.call('GET', `${clients}?${query}`, f.keys.servers), 400);
      expect(p.code, query).to.equal('bad_request');
    }
  });

  it('PATCH replaces what it names, null removes, and the result is checked like a new client', async () => {
    const changed = await json(
      await f.call('PATCH', `${clients}/webapp`, f.keys.servers, {
        redirectUris: [cb, 'https://app.example/cb2'],
        postLogoutRedirectUris: ['https://app.example/bye'],
        backchannelLogoutUri: 'https://app.example/bc',
        thirdParty: true,
        subjectType: 'pairwise',
        requirePar: true,
        name: null,
      }),
      200,
    );
    expect(changed).to.deep.include({
      redirectUris: [cb, 'https://app.example/cb2'],
      postLogoutRedirectUris: ['https://app.example/bye'],
      backchannelLogoutUri: 'https://app.example/bc',
      thirdParty: true,
      subjectType: 'pairwise',
      requirePar: true,
      name: null,
      public: false,
    });
    const back = await json(
      await f.call('PATCH', `${clients}/webapp`, f.keys.servers, {
        backchannelLogoutUri: null,
        requirePar: false,
      }),
      200,
    );
    expect(back).to.deep.include({ backchannelLogoutUri: null, requirePar: false, subjectType: 'pairwise' });
    // The secret still works: a PATCH never touches it (checked end to end in test/idp/oidc/pairwise.test.ts).
  });

  it('refuses bad input with problem JSON and stores nothing', async () => {
    const before = JSON.stringify(await f.clientRows());
    const bodies: [unknown, string][] = [
      [{ clientId: 'x', redirectUris: ['https://a.example/cb#f'] }, 'redirectUris.0'],
      [{ clientId: 'x' }, 'redirectUris'],
      [{ clientId: 'x', public: true, grantTypes: ['client_credentials'] }, 'grantTypes'],
      [{ clientId: 'x', grantTypes: ['client_credentials', 'refresh_token'] }, 'grantTypes'],
      [{ clientId: 'x', grantTypes: ['password'], redirectUris: [cb] }, 'grantTypes.0'],
      [{ clientId: 'x', public: true, secret: 'sixteen-chars-secret', redirectUris: [cb] }, 'secret'],
      [{ clientId: 'bad id', redirectUris: [cb] }, 'clientId'],
      [{ clientId: 'x', redirectUris: [cb], unknown: 1 }, ''],
      [
        { clientId: 'x', redirectUris: [cb, 'https://other.example/cb'], subjectType: 'pairwise' },
        'subjectType',
      ],
      [{ clientId: 'x', grantTypes: ['client_credentials'], subjectType: 'pairwise' }, 'subjectType'],
      [{ clientId: 'x', grantTypes: ['client_credentials'], requirePar: true }, 'requirePar'],
      [{ clientId: 'x', redirectUris: [cb], subjectType: 'secret' }, 'subjectType'],
      [{ clientId: 'x', redirectUris: Array.from({ length: 51 }, (_, i) => `${cb}${i}`) }, 'redirectUris'],
      [{ clientId: 'x'.repeat(256), redirectUris: [cb] }, 'clientId'],
    ];
    for (const [body, path] of bodies) {
      const p = await problem(await post(body), 400);
      expect(p.code, JSON.stringify(body)).to.equal('invalid_body');
      expect(
        (p.errors as { path: string }[]).map((e) => e.path),
        JSON.stringify(body),
      ).to.include(path);
    }
    const dup = await problem(await post({ clientId: 'webapp', redirectUris: [cb] }), 409);
    expect(dup.code).to.equal('conflict');
    expect((await problem(await post('{not json'), 400)).code).to.equal('bad_request');
    const asForm = await f.call('POST', clients, f.keys.servers, undefined, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect((await problem(asForm, 415)).code).to.equal('unsupported_media_type');
    const huge = { clientId: 'x', redirectUris: [cb], name: 'n'.repeat(70_000) };
    expect((await problem(await post(huge), 413)).code).to.equal('body_too_large');

    const patches: [unknown, string][] = [
      [{}, ''],
      [{ grantTypes: ['client_credentials'] }, 'redirectUris'],
      [{ redirectUris: [] }, 'redirectUris'],
      [{ redirectUris: [cb, 'https://other.example/cb'] }, 'subjectType'],
      [{ secret: 'a-new-secret-of-enough-length' }, ''],
      [{ public: true }, ''],
      [{ name: '' }, 'name'],
    ];
    for (const [body, path] of patches) {
      const p = await problem(await f.call('PATCH', `${clients}/webapp`, f.keys.servers, body), 400);
      expect(
        (p.errors as { path: string }[]).map((e) => e.path),
        JSON.stringify(body),
      ).to.include(path);
    }
    expect(
      (await problem(await f.call('PATCH', `${clients}/nobody`, f.keys.servers, { name: 'x' }), 404)).code,
    ).to.equal('not_found');
    expect(JSON.stringify(await f.clientRows())).to.equal(before);
  });

  it('CIBA: poll alone or beside other grants; the rules between its fields; a ping endpoint it cannot reach is refused', async () => {
    const before = JSON.stringify(await f.clientRows());
    const bodies: [unknown, string][] = [
      [{ clientId: 'x', grantTypes: [], ciba: 'ping' }, 'cibaNotify'],
      [{ clientId: 'x', grantTypes: [], ciba: 'poll', cibaNotify: 'https://rp.example/n' }, 'cibaNotify'],
      [{ clientId: 'x', grantTypes: [], public: true, ciba: 'poll' }, 'ciba'],
      [{ clientId: 'x', redirectUris: [cb], subjectType: 'pairwise', ciba: 'poll' }, 'ciba'],
      [{ clientId: 'x', grantTypes: [], ciba: 'push' }, 'ciba'],
      [{ clientId: 'x', grantTypes: [] }, 'grantTypes'],
    ];
    for (const [body, path] of bodies) {
      const p = await problem(await post(body), 400);
      expect(
        (p.errors as { path: string }[]).map((e) => e.path),
        JSON.stringify(body),
      ).to.include(path);
    }
    // Loopback is not public and not allow-listed in this fixture; http is refused before any address.
    for (const notify of ['https://127.0.0.1:9/notify', 'http://127.0.0.1:9/notify']) {
      const p = await problem(
        await post({ clientId: 'x', grantTypes: [], ciba: 'ping', cibaNotify: notify }),
        400,
      );
      expect(p.detail).to.contain('not an allowed outbound target');
    }
    expect(JSON.stringify(await f.clientRows())).to.equal(before);

    const created = await json(await post({ clientId: 'ciba-only', grantTypes: [], ciba: 'poll' }), 201);
    expect(created).to.deep.include({ grantTypes: [], ciba: 'poll', cibaNotify: null, redirectUris: [] });
    const rows = (await f.clientRows()) as { client_id: string; metadata: string }[];
    const row = rows.find((r) => r.client_id === 'ciba-only') as { metadata: string };
    expect(JSON.parse(row.metadata)).to.deep.include({
      grant_types: ['urn:openid:params:grant-type:ciba'],
      backchannel_token_delivery_mode: 'poll',
      backchannel_user_code_parameter: false,
      response_types: [],
    });
    const both = await json(await post({ clientId: 'web-and-ciba', redirectUris: [cb], ciba: 'poll' }), 201);
    expect(both).to.deep.include({ grantTypes: ['authorization_code', 'refresh_token'], ciba: 'poll' });
    const off = await f.call('PATCH', `${clients}/web-and-ciba`, f.keys.servers, { ciba: null });
    expect(await json(off, 200)).to.deep.include({
      ciba: null,
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const alone = await problem(
      await f.call('PATCH', `${clients}/ciba-only`, f.keys.servers, { ciba: null }),
      400,
    );
    expect((alone.errors as { path: string }[]).map((e) => e.path)).to.include('grantTypes');
  });

  it('of 8 concurrent creations of one id exactly one wins; concurrent PATCHes all apply, one by one', async () => {
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => post({ clientId: 'race', redirectUris: [cb] })),
    );
    expect(racing.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
    const created = (await f.audit('oidc_client.created')).filter((e) => e.subject.id === 'race');
    expect(created).to.have.length(1);

    const names = Array.from({ length: 6 }, (_, i) => `name ${i}`);
    const patched = await Promise.all(
      names.map((name) => f.call('PATCH', `${clients}/race`, f.keys.servers, { name })),
    );
    expect(patched.map((r) => r.status)).to.deep.equal(names.map(() => 200));
    const final = await json(await f.call('GET', `${clients}/race`, f.keys.servers), 200);
    expect(names).to.include(final.name);
    const updates = (await f.audit('oidc_client.updated')).filter((e) => e.subject.id === 'race');
    expect(updates).to.have.length(6);
  });

  it('DELETE removes a client once; a second time is 404', async () => {
    const res = await f.call('DELETE', `${clients}/race`, f.keys.servers);
    expect(res.status).to.equal(204);
    expect((await problem(await f.call('DELETE', `${clients}/race`, f.keys.servers), 404)).code).to.equal(
      'not_found',
    );
    expect((await problem(await f.call('GET', `${clients}/race`, f.keys.servers), 404)).code).to.equal(
      'not_found',
    );
  });

  it('every change is in the NS audit log with the acting key, never with a secret', async () => {
    const events = await f.audit('oidc_client.*');
    const ofWebapp = events.filter((e) => e.subject.id === 'webapp').map((e) => e.type);
    expect(ofWebapp).to.deep.equal(['oidc_client.updated', 'oidc_client.updated', 'oidc_client.created']);
    expect(events.filter((e) => e.type === 'oidc_client.deleted').map((e) => e.subject.id)).to.deep.equal([
      'race',
    ]);
    const update = events.find((e) => e.subject.id === 'webapp' && e.type === 'oidc_client.updated');
    expect(update?.details.changed).to.deep.equal(['backchannelLogoutUri', 'requirePar']);
    const serversKeyId = events.find((e) => e.subject.id === 'webapp')?.actor.id;
    expect(serversKeyId)
      .to.match(/^[A-Za-z0-9_-]+$/)
      .and.not.equal('root');
    expect(JSON.stringify(events)).to.not.contain('a-given-secret');
    // Refusals change nothing and record nothing.
    expect(events.filter((e) => e.subject.id === 'x')).to.deep.equal([]);
  });
});
