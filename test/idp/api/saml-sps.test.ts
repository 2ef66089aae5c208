// `/idp/api/v1/servers/{server}/saml/sps`: register from inline metadata or a URL (fetched through the
// outbound allow-list, size-capped), list, get, delete; the role matrix; an NS audit event per change;
// refusals as problem JSON with nothing stored.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { createSp, type TestSp } from '../saml/harness.js';
import { type ApiFixture, problem, startApiFixture } from './fixture.js';

const sps = '/servers/default/saml/sps';

describe('idp/api: SAML SPs', function () {
  this.timeout(60_000);
  let f: ApiFixture;
  let sp: TestSp;
  before(async () => {
    f = await startApiFixture();
    sp = await createSp(f.e, 'https://app.example/saml');
  });
  after(() => f?.close());
  const rows = async () => (await f.e.runtime.dbs.idp?.('idp_saml_sps').orderBy('entity_id')) ?? [];

  it('registers an SP from its metadata; lists, gets and deletes it; audits both changes', async () => {
    const res = await f.call('POST', sps, f.keys.servers, {
      metadata: sp.metadata,
      sign: 'assertion',
      encrypt: true,
      attributes: { mail: 'email', 'urn:oid:1.3.6.1.4.1.5923.1.1.1.7': 'groups' },
    });
    const text = await res.text();
    expect(res.status, text).to.equal(201);
    const created = JSON.parse(text) as Record<string, unknown>;
    expect(created).to.deep.include({
      server: 'default',
      entityId: sp.entityId,
      idpEntityId: `${f.e.url}/saml/default/metadata`,
      acs: ['http://127.0.0.1:9/saml/acs'],
      authnRequestsSigned: false,
      sign: 'assertion',
      encrypt: true,
    });
    const path = `${sps}/${encodeURIComponent(sp.entityId)}`;
    const got = await f.call('GET', path, f.keys.tenantRoot);
    expect(got.status).to.equal(200);
    expect(((await got.json()) as { attributes: unknown }).attributes).to.deep.equal({
      mail: 'email',
      'urn:oid:1.3.6.1.4.1.5923.1.1.1.7': 'groups',
    });
    const list = (await (await f.call('GET', sps, f.keys.servers)).json()) as { sps: { entityId: string }[] };
    expect(list.sps.map((s) => s.entityId)).to.deep.equal([sp.entityId]);
    expect(
      ((await (await f.call('GET', '/servers/acme/saml/sps', f.keys.acme)).json()) as { sps: [] }).sps,
    ).to.deep.equal([]);

    expect((await f.call('DELETE', path, f.keys.servers)).status).to.equal(204);
    await problem(await f.call('DELETE', path, f.keys.servers), 404);
    await problem(await f.call('GET', path, f.keys.servers), 404);
    const created1 = await f.audit('saml_sp.created');
    expect(created1[0]?.subject.id).to.equal(sp.entityId);
    expect(created1[0]?.details).to.deep.include({ sign: 'assertion', encrypt: true });
    expect((await f.audit('saml_sp.deleted'))[0]?.subject.id).to.equal(sp.entityId);
  });

  it('keys: none → 401, a key without the role → 403, another tenant → 404; nothing stored', async () => {
    const before = await rows();
    await problem(await f.call('POST', sps, undefined, { metadata: sp.metadata }), 401);
    await problem(await f.call('POST', sps, f.keys.users, { metadata: sp.metadata }), 403);
    await problem(await f.call('POST', sps, f.keys.acme, { metadata: sp.metadata }), 404);
    await problem(await f.call('GET', sps, f.keys.acme), 404);
    expect(await rows()).to.deep.equal(before);
  });

  it('refuses encrypt without an encryption certificate, a metadata URL without allow-listing, and non-JSON', async () => {
    const before = await rows();
    const signingOnly = sp.metadata.replace(/<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/, '');
    expect(signingOnly).to.not.equal(sp.metadata);
    const body = await problem(
      await f.call('POST', sps, f.keys.servers, { metadata: signingOnly, encrypt: true }),
      400,
    );
    expect(body.errors).to.deep.equal([
      { path: 'encrypt', message: 'no encryption certificate in the metadata' },
    ]);
    // Loopback is not on this system's (empty) outbound allow-list.
    await problem(await f.call('POST', sps, f.keys.servers, { metadataUrl: 'http://127.0.0.1:9/md' }), 502);
    await problem(
      await f.call('POST', sps, f.keys.servers, 'metadata=x', { 'content-type': 'text/plain' }),
      415,
    );
    expect(await rows()).to.deep.equal(before);
  });

  describe('PATCH …/saml/sps/{entityId}: update in place', () => {
    let target: TestSp;
    let path: string;
    before(async () => {
      target = await createSp(f.e, 'https://update.example/saml');
      const res = await f.call('POST', sps, f.keys.servers, {
        metadata: target.metadata,
        sign: 'both',
        attributes: { mail: 'email' },
      });
      expect(res.status, await res.text()).to.equal(201);
      path = `${sps}/${encodeURIComponent(target.entityId)}`;
    });
    const row = async () =>
      JSON.stringify(
        await f.e.runtime.dbs.idp?.('idp_saml_sps').where({ entity_id: target.entityId }).first(),
      );

    it('changes the settings given and keeps the others; audits what changed', async () => {
      const res = await f.call('PATCH', path, f.keys.servers, { sign: 'response', encrypt: true });
      expect(res.status, await res.clone().text()).to.equal(200);
      const sp = (await res.json()) as { sign: string; encrypt: boolean; attributes: unknown };
      expect(sp).to.deep.include({ sign: 'response', encrypt: true, attributes: { mail: 'email' } });
      const got = (await (await f.call('GET', path, f.keys.servers)).json()) as { sign: string };
      expect(got.sign).to.equal('response');
      const attrs = await f.call('PATCH', path, f.keys.tenantRoot, { attributes: { uid: 'userid' } });
      expect(((await attrs.json()) as { attributes: unknown }).attributes).to.deep.equal({ uid: 'userid' });
      const events = await f.audit('saml_sp.updated');
      expect(events.map((ev) => ev.details?.changed)).to.deep.include.members([
        ['encrypt', 'sign'],
        ['attributes'],
      ]);
    });

    it('takes new metadata of the same entityID (a new ACS is used from then on)', async () => {
      const metadata = target.metadata.replace(
        'Location="http://127.0.0.1:9/saml/acs"',
        'Location="http://127.0.0.1:9/saml/acs2"',
      );
      expect(metadata).to.not.equal(target.metadata);
      const res = await f.call('PATCH', path, f.keys.servers, { metadata });
      expect(res.status, await res.clone().text()).to.equal(200);
      expect(((await res.json()) as { acs: string[] }).acs).to.deep.equal(['http://127.0.0.1:9/saml/acs2']);
      const events = await f.audit('saml_sp.updated');
      expect(events.map((ev) => ev.details?.changed)).to.deep.include.members([['metadata']]);
      // Back as it was, for the tests after.
      expect((await f.call('PATCH', path, f.keys.servers, { metadata: target.metadata })).status).to.equal(
        200,
      );
    });

    it('refusals: bad metadata, another entityID, encrypt without a certificate, unknown SP, bad bodies; nothing changes', async () => {
      const before = await row();
      const count = (await f.audit('saml_sp.updated')).length;
      await problem(await f.call('PATCH', path, f.keys.servers, { metadata: '<not-metadata/>' }), 400);
      const other = await createSp(f.e, 'https://other.example/saml');
      const mismatch = await problem(
        await f.call('PATCH', path, f.keys.servers, { metadata: other.metadata }),
        400,
      );
      expect(JSON.stringify(mismatch)).to.contain('not of this SP');
      // Encryption on, then metadata without an encryption certificate: the SP would be unusable.
      await f.call('PATCH', path, f.keys.servers, { encrypt: true });
      const encrypting = await row();
      const signingOnly = target.metadata.replace(
        /<KeyDescriptor use="encryption">[\s\S]*?<\/KeyDescriptor>/,
        '',
      );
      expect(signingOnly).to.not.equal(target.metadata);
      await problem(await f.call('PATCH', path, f.keys.servers, { metadata: signingOnly }), 400);
      expect(await row()).to.equal(encrypting);
      await f.call('PATCH', path, f.keys.servers, { encrypt: false });
      const settled = await row();
      const settledCount = (await f.audit('saml_sp.updated')).length;
      const unknown = `${sps}/${encodeURIComponent('https://nobody.example/saml')}`;
      await problem(await f.call('PATCH', unknown, f.keys.servers, { sign: 'assertion' }), 404);
      await problem(await f.call('PATCH', path, f.keys.servers, {}), 400);
      await problem(await f.call('PATCH', path, f.keys.servers, { sign: 'nothing' }), 400);
      await problem(await f.call('PATCH', path, f.keys.servers, { entityId: 'https://x' }), 400);
      await problem(
        await f.call('PATCH', path, f.keys.servers, {
          metadata: target.metadata,
          metadataUrl: 'https://x/md',
        }),
        400,
      );
      await problem(await f.call('PATCH', path, f.keys.servers, { attributes: { mail: 'password' } }), 400);
      await problem(await f.call('PATCH', path, f.keys.users, { sign: 'assertion' }), 403);
      await problem(await f.call('PATCH', path, f.keys.acme, { sign: 'assertion' }), 404);
      // Metadata URLs are off on this system (empty allow-list): the fetch fails, nothing changes.
      await problem(
        await f.call('PATCH', path, f.keys.servers, { metadataUrl: 'http://127.0.0.1:9/md' }),
        502,
      );
      expect(await row()).to.equal(settled);
      expect((await f.audit('saml_sp.updated')).length).to.equal(settledCount);
      expect(settledCount).to.equal(count + 2);
      expect(before).to.not.equal('');
    });

    it('concurrent updates apply one after the other', async () => {
      const results = await Promise.all([
        f.call('PATCH', path, f.keys.servers, { sign: 'assertion' }),
        f.call('PATCH', path, f.keys.servers, { attributes: { cn: 'name' } }),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([200, 200]);
      const got = (await (await f.call('GET', path, f.keys.servers)).json()) as {
        sign: string;
        attributes: unknown;
      };
      expect(got).to.deep.include({ sign: 'assertion', attributes: { cn: 'name' } });
    });
  });

  it('the OpenAPI document describes the SAML SP operations', async () => {
    const doc = (await (await f.call('GET', '/openapi.json', undefined)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(doc.paths).to.have.keys([
      ...Object.keys(doc.paths).filter((p) => !p.includes('/saml/sps')),
      '/api/v1/servers/{server}/saml/sps',
      '/api/v1/servers/{server}/saml/sps/{entityId}',
    ]);
  });
});

describe('idp/api: SAML SP metadata from a URL (allow-listed loopback)', function () {
  this.timeout(60_000);
  let e: Embedded;
  let server: Server;
  let body = '';
  let base = '';
  before(async () => {
    e = await startEmbedded({ env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' } });
    server = createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/md' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    await e?.close();
  });
  const add = (metadataUrl: string) =>
    fetch(`${e.url}/idp/api/v1/servers/default/saml/sps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ metadataUrl }),
    });

  it('fetches the metadata once; refuses redirects and documents over 256 KiB', async () => {
    const sp = await createSp(e, 'https://fetched.example/sp');
    body = sp.metadata;
    await problem(await add(`${base}/redirect`), 502);
    body = `${sp.metadata}<!-- ${'x'.repeat(257 * 1024)} -->`;
    await problem(await add(`${base}/md`), 413);
    body = sp.metadata;
    const res = await add(`${base}/md`);
    expect(res.status, await res.clone().text()).to.equal(201);
    expect(((await res.json()) as { entityId: string }).entityId).to.equal(sp.entityId);
  });
});
