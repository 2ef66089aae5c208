// NS REST v2 over a real listener: X-apikey, X-nonce, create / getSession / logout / QR, and every refusal
// leaves storage unchanged.
import { expect } from 'chai';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { parseLoginQrUri } from '../../../../auth-server/ns/sessions/login-code.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { decodeQrPng } from '../../../helpers/qr-decode.js';
import { type Harness, rootKey, startHarness, storedState } from './harness.js';

describe('ns REST v2 sessions', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const json = { 'content-type': 'application/json' };
  const create = (body: unknown, headers: Record<string, string> = { 'x-apikey': rootKey }) =>
    fetch(`${h.url}/ns/api/v2/session`, {
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify(body),
    });
  const newSession = async () => {
    const res = await create({ server: 'acme', userAgent: 'Firefox', ip: '198.51.100.7' });
    expect(res.status).to.equal(201);
    return (await res.json()) as { nonce: string; server: string; state: string; expiresAt: string };
  };
  const withNonce = (path: string, nonce: string | undefined, init: RequestInit = {}, key = rootKey) =>
    fetch(`${h.url}/ns/api/v2/${path}`, {
      ...init,
      headers: { 'x-apikey': key, ...(nonce !== undefined && { 'x-nonce': nonce }) },
    });
  async function problem(res: Response, status: number, reason?: string) {
    expect(res.status).to.equal(status);
    expect(res.headers.get('content-type')).to.contain('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    if (reason) expect(body.reason).to.equal(reason);
    return body;
  }

  describe('POST /ns/api/v2/session', () => {
    it('creates a session for a server and returns the nonce once', async () => {
      const res = await create({ server: 'acme', userAgent: 'Firefox', ip: '198.51.100.7' });
      expect(res.status).to.equal(201);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const body = (await res.json()) as { nonce: string };
      expect(body).to.deep.include({ server: 'acme', state: 'waiting' });
      expect(body.nonce).to.match(/^[A-Za-z0-9_-]{43}$/);
      const rows = await h.knex('ns_sessions').select('*');
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({ nonce_hash: sha256Hex(body.nonce), user_agent: 'Firefox' });
      expect(rows[0].ip).to.equal('198.51.100.7');
    });

    it('refuses a missing or wrong X-apikey with 401 and creates nothing', async () => {
      await problem(await create({ server: 'acme' }, {}), 401);
      await problem(await create({ server: 'acme' }, { 'x-apikey': `${rootKey}x` }), 401);
      await problem(await create({ server: 'acme' }, { 'x-apikey': 'x'.repeat(600) }), 401);
      expect(await h.knex('ns_sessions').select('*')).to.deep.equal([]);
    });

    it('refuses an unknown server with 404 and a bad body with 400/415, creating nothing', async () => {
      await problem(await create({ server: 'nope' }), 404);
      await problem(await create({ server: 'Not A Slug' }), 400);
      await problem(await create({ server: 'acme', extra: 1 }), 400);
      await problem(await create({ server: 'acme', ip: 'not-an-ip' }), 400);
      for (const sessionInfo of ['', 'x'.repeat(201), 'tab\there', 'rtl\u202eoverride', ['a']])
        await problem(await create({ server: 'acme', sessionInfo }), 400);
      const form = await fetch(`${h.url}/ns/api/v2/session`, {
        method: 'POST',
        headers: { 'x-apikey': rootKey, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'server=acme',
      });
      await problem(form, 415);
      expect(await h.knex('ns_sessions').select('*')).to.deep.equal([]);
    });

    it('keeps the sessioninfo for the phone', async () => {
      const res = await create({ server: 'acme', sessionInfo: 'Sign in to Payroll' });
      expect(res.status).to.equal(201);
      const [row] = await h.knex('ns_sessions').select('session_info');
      expect(row.session_info).to.equal('Sign in to Payroll');
    });

    it('accepts a stored per-server key only for its own server', async () => {
      const other = await h.servers.getByName('other');
      await createApiKeyRepository(h.knex).save({
        id: 'k1',
        serverId: other.id,
        name: 'other backend',
        keyHash: sha256Hex('other-server-key-0123456789'),
        roles: ['sessions'],
        createdAt: new Date(h.clock.now()),
      });
      const key = { 'x-apikey': 'other-server-key-0123456789' };
      expect((await create({ server: 'other' }, key)).status).to.equal(201);
      await problem(await create({ server: 'acme' }, key), 404);
      // A session of acme is invisible to the other server's key.
      const { nonce } = await newSession();
      await problem(await withNonce('session', nonce, {}, 'other-server-key-0123456789'), 404);
      await problem(await withNonce('logout', nonce, { method: 'POST' }, 'other-server-key-0123456789'), 404);
      expect((await h.sessions.getStatus(nonce)).state).to.equal('waiting');
    });

    it('rate-limits per key and address with 429 and Retry-After', async () => {
      await h.close();
      h = await startHarness({ limits: { apiSessionsPerMinute: 2 } });
      await newSession();
      await newSession();
      const res = await create({ server: 'acme' });
      const body = await problem(res, 429);
      expect(body.code).to.equal('rate_limited');
      expect(Number(res.headers.get('retry-after'))).to.be.within(1, 60);
      expect(await h.knex('ns_sessions').count({ n: '*' })).to.deep.equal([{ n: 2 }]);
      h.clock.advance(60_000);
      await newSession();
    });
  });

  describe('GET /ns/api/v2/session (getSession)', () => {
    it('returns the LoginStatus for the X-nonce', async () => {
      const { nonce, expiresAt } = await newSession();
      const res = await withNonce('session', nonce);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({
        loggedin: false,
        state: 'waiting',
        server: 'acme',
        expiresAt,
      });
    });

    it('shows userid, accountid and hsid once logged in', async () => {
      const { nonce } = await newSession();
      const session = await h.sessions.findByNonce(nonce);
      if (!session) throw new Error('fixture');
      const done = await h.sessions.markLoggedIn(session.id, { userid: 'alice', accountId: 'acct-1' });
      const body = (await (await withNonce('session', nonce)).json()) as Record<string, unknown>;
      expect(body).to.deep.include({
        loggedin: true,
        state: 'loggedin',
        userid: 'alice',
        accountid: 'acct-1',
      });
      expect(body.hsid).to.equal(done.hsid);
    });

    it('401 without X-nonce or without X-apikey, 404 for an unknown nonce', async () => {
      const { nonce } = await newSession();
      await problem(await withNonce('session', undefined), 401);
      await problem(await fetch(`${h.url}/ns/api/v2/session`, { headers: { 'x-nonce': nonce } }), 401);
      await problem(await withNonce('session', 'unknown-nonce'), 404, 'unknown_session');
    });
  });

  describe('POST /ns/api/v2/logout', () => {
    it('ends the session; getSession then reports loggedout', async () => {
      const { nonce } = await newSession();
      const session = await h.sessions.findByNonce(nonce);
      if (!session) throw new Error('fixture');
      await h.sessions.markLoggedIn(session.id, { userid: 'alice', accountId: 'a' });
      const res = await withNonce('logout', nonce, { method: 'POST' });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({ loggedin: false, state: 'loggedout' });
      expect(await (await withNonce('session', nonce)).json()).to.deep.include({ state: 'loggedout' });
    });

    it('refuses without X-nonce, a wrong key or an unknown nonce, changing nothing', async () => {
      const { nonce } = await newSession();
      const before = await storedState(h.knex);
      await problem(await withNonce('logout', undefined, { method: 'POST' }), 401);
      await problem(await withNonce('logout', nonce, { method: 'POST' }, 'wrong-key-0123456789'), 401);
      await problem(await withNonce('logout', 'unknown', { method: 'POST' }), 404);
      expect(await storedState(h.knex)).to.deep.equal(before);
    });
  });

  describe('GET /ns/api/v2/qr', () => {
    it('returns the login code data and URI; the code rotates; never the nonce', async () => {
      const { nonce } = await newSession();
      const res = await withNonce('qr', nonce);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { qrUri: string; qrData: { c: string }; refreshAt: string };
      expect(parseLoginQrUri(body.qrUri)).to.deep.equal(body.qrData);
      expect(body.qrData).to.deep.include({ v: 1, ns: 'http://127.0.0.1:3000', s: 'acme' });
      expect(body.qrUri).to.not.contain(nonce);
      h.clock.set(Date.parse(body.refreshAt));
      const next = (await (await withNonce('qr', nonce)).json()) as { qrData: { c: string } };
      expect(next.qrData.c).to.not.equal(body.qrData.c);
    });

    it('adds the rendered code as an SVG or PNG data URL on ?img=, and refuses other formats', async () => {
      const { nonce } = await newSession();
      const png = (await (await withNonce('qr?img=png', nonce)).json()) as { img: string; qrUri: string };
      expect(png.img).to.match(/^data:image\/png;base64,/);
      const decoded = decodeQrPng(Buffer.from(png.img.split(',')[1] ?? '', 'base64'));
      expect(decoded).to.equal(png.qrUri);
      const svg = (await (await withNonce('qr?img=svg', nonce)).json()) as { img: string };
      expect(svg.img).to.match(/^data:image\/svg\+xml;base64,/);
      const before = await storedState(h.knex);
      await problem(await withNonce('qr?img=gif', nonce), 400);
      await problem(await withNonce('qr?other=1', nonce), 400);
      expect(await storedState(h.knex)).to.deep.equal(before);
    });

    it('serves the code as a PNG image at qr.png that a camera reads back as the login URI', async () => {
      const { nonce } = await newSession();
      const res = await withNonce('qr.png', nonce);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('image/png');
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const refreshAt = res.headers.get('x-refresh-at') ?? '';
      expect(Date.parse(refreshAt)).to.be.above(h.clock.now());
      const uri = decodeQrPng(Buffer.from(await res.arrayBuffer()));
      expect(parseLoginQrUri(uri)).to.deep.include({ s: 'acme' });
      expect(uri).to.not.contain(nonce);
      await problem(await withNonce('qr.png', undefined), 401);
      await problem(await withNonce('qr.png', 'unknown'), 404);
    });

    it('refuses once scanned (409 invalid_state) and after expiry (409 session_expired)', async () => {
      const { nonce } = await newSession();
      const { code } = await h.sessions.currentLoginCode(nonce);
      await h.sessions.redeemLoginCode(code);
      await problem(await withNonce('qr', nonce), 409, 'invalid_state');
      const second = await newSession();
      h.clock.advance(120_000);
      const before = await storedState(h.knex);
      await problem(await withNonce('qr', second.nonce), 409, 'session_expired');
      expect(await storedState(h.knex)).to.deep.equal(before);
    });
  });
});
