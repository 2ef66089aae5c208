// `POST /ns/api/v2/enrol-links` over a real listener: a one-time enrol URI pinning the server key, the
// API key's reach, input limits, and refusals that store nothing.
import { expect } from 'chai';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { visualHash } from '../../../../protocol/visual-hash.js';
import { type Harness, rootKey, startHarness } from './harness.js';

describe('ns REST v2 enrol links', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ publicUrl: 'https://id.example.test' });
  });
  afterEach(() => h.close());

  const post = (body: unknown, key: string | null = rootKey) =>
    fetch(`${h.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key !== null && { 'x-apikey': key }) },
      body: JSON.stringify(body),
    });
  const tokens = () => h.knex('ns_enrol_tokens').select('*');

  it('returns {uri, expiresAt}: a nextauth://enrol URI with the server key fingerprint', async () => {
    const res = await post({ server: 'acme', userid: 'alice', ttlSeconds: 300 });
    expect(res.status).to.equal(201);
    expect(res.headers.get('cache-control')).to.contain('no-store');
    const body = (await res.json()) as { uri: string; expiresAt: string };
    expect(new Date(body.expiresAt).getTime()).to.equal(h.clock.now() + 300_000);
    const data = parseEnrolUri(body.uri);
    const row = await h.knex('ns_virtual_servers').where({ name: 'acme' }).first();
    expect(data).to.deep.include({
      v: 1,
      ns: 'https://id.example.test',
      s: 'acme',
      fp: row.identity_thumbprint,
    });
    // The page shows the key's pictures next to the QR; the phone computes them from `fp`.
    const shown = body as unknown as { keyFingerprint: string; visualHash: unknown };
    expect(shown.keyFingerprint).to.equal(data.fp);
    expect(shown.visualHash).to.deep.equal(visualHash(data.fp));
    const stored = await tokens();
    expect(stored).to.have.length(1);
    expect(stored[0]).to.include({ token_hash: sha256Hex(data.t), userid: 'alice' });
  });

  it('defaults to 10 minutes', async () => {
    const body = (await (await post({ server: 'acme', userid: 'alice' })).json()) as { expiresAt: string };
    expect(new Date(body.expiresAt).getTime()).to.equal(h.clock.now() + 600_000);
  });

  it('refuses missing/wrong keys (401), unknown servers (404) and bad bodies (400), storing nothing', async () => {
    expect((await post({ server: 'acme', userid: 'alice' }, null)).status).to.equal(401);
    expect((await post({ server: 'acme', userid: 'alice' }, `${rootKey}x`)).status).to.equal(401);
    expect((await post({ server: 'nope', userid: 'alice' })).status).to.equal(404);
    expect((await post({ server: 'acme', userid: '' })).status).to.equal(400);
    expect((await post({ server: 'acme', userid: 'alice', ttlSeconds: 901 })).status).to.equal(400);
    expect((await post({ server: 'acme', userid: 'alice', extra: true })).status).to.equal(400);
    for (const announceInfo of ['', 'x'.repeat(201), 'line\nbreak', 'evil\u202eefil.exe', 42]) {
      const res = await post({ server: 'acme', userid: 'alice', announceInfo });
      expect(res.status, JSON.stringify(announceInfo)).to.equal(400);
    }
    expect(await tokens()).to.deep.equal([]);
  });

  it('keeps announceinfo (trimmed, NFC) with the token for the phone', async () => {
    const res = await post({ server: 'acme', userid: 'alice', announceInfo: '  Zoe\u0301 Martin  ' });
    expect(res.status).to.equal(201);
    const [row] = await tokens();
    expect(row.announce_info).to.equal('Zoé Martin'.normalize('NFC'));
  });

  it('lets a server key create links only for its own server', async () => {
    const other = await h.servers.getByName('other');
    await createApiKeyRepository(h.knex).save({
      id: 'k1',
      serverId: other.id,
      name: 'other backend',
      keyHash: sha256Hex('other-server-key-0123456789'),
      roles: ['users'],
      createdAt: new Date(h.clock.now()),
    });
    const key = 'other-server-key-0123456789';
    expect((await post({ server: 'other', userid: 'bob' }, key)).status).to.equal(201);
    expect((await post({ server: 'acme', userid: 'bob' }, key)).status).to.equal(404);
    expect(await tokens()).to.have.length(1);
  });
});
