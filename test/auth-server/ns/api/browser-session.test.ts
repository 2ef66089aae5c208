// Browser endpoints over a real listener: the nonce lives only in an httpOnly cookie, status and QR need it,
// and the SSE stream follows state changes made through the service (bus and poll).
import { expect } from 'chai';
import { sessionChannel } from '../../../../auth-server/ns/sessions/events.js';
import { loginCodeRotationMs } from '../../../../auth-server/ns/sessions/lifetimes.js';
import { type Harness, type HarnessOptions, sseReader, startHarness, storedState } from './harness.js';

describe('ns browser session endpoints', () => {
  let h: Harness;
  const start = async (options: HarnessOptions = {}) => {
    await h?.close();
    h = await startHarness(options);
  };
  beforeEach(() => start());
  afterEach(() => h.close());

  const base = () => `${h.url}/ns/servers`;
  const startBrowserSession = (server = 'acme', cookie?: string) =>
    fetch(`${base()}/${server}/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie && { cookie }) },
      body: '{}',
    });
  /** Starts a session and returns the `name=value` cookie pair and the nonce in it. */
  const browserCookie = async () => {
    const res = await startBrowserSession();
    expect(res.status).to.equal(201);
    const setCookie = res.headers.get('set-cookie') ?? '';
    const pair = setCookie.split(';')[0] ?? '';
    return { cookie: pair, nonce: pair.split('=')[1] ?? '', setCookie, body: await res.json() };
  };
  const sessionIdOf = async (nonce: string) => {
    const session = await h.sessions.findByNonce(nonce);
    if (!session) throw new Error('fixture');
    return session.id;
  };

  describe('POST /ns/servers/{server}/browser-session', () => {
    it('sets an httpOnly SameSite=Lax cookie named per server and never returns the nonce', async () => {
      const { setCookie, nonce, body } = await browserCookie();
      expect(setCookie).to.match(
        /^nextauth_ns_acme=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
      );
      expect(JSON.stringify(body)).to.not.contain(nonce);
      expect(body).to.deep.include({ loggedin: false, state: 'waiting', server: 'acme' });
      expect((await h.sessions.getStatus(nonce)).state).to.equal('waiting');
    });

    it('resumes the pending session of a reloaded page instead of creating another', async () => {
      const { cookie } = await browserCookie();
      const again = await startBrowserSession('acme', cookie);
      expect(again.status).to.equal(200);
      expect(again.headers.get('set-cookie')).to.equal(null);
      expect(await h.knex('ns_sessions').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
    });

    it('refuses a form post (login CSRF) and an unknown server, creating nothing', async () => {
      const form = await fetch(`${base()}/acme/browser-session`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(form.status).to.equal(415);
      expect((await startBrowserSession('nope')).status).to.equal(404);
      expect((await startBrowserSession('Bad_Name')).status).to.equal(404);
      expect(await h.knex('ns_sessions').select('*')).to.deep.equal([]);
    });

    it('rate-limits per address with 429 + Retry-After and resets with the window', async () => {
      await start({ limits: { browserSessionsPerMinute: 3 } });
      for (let i = 0; i < 3; i++) expect((await startBrowserSession()).status).to.equal(201);
      const limited = await startBrowserSession();
      expect(limited.status).to.equal(429);
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
      expect(await h.knex('ns_sessions').count({ n: '*' })).to.deep.equal([{ n: 3 }]);
      h.clock.advance(60_000);
      expect((await startBrowserSession()).status).to.equal(201);
    });

    it('leaves room for 30 logins a minute from one address by default', async () => {
      for (let i = 0; i < 30; i++) expect((await startBrowserSession()).status).to.equal(201);
    });
  });

  describe('GET status and QR with the cookie', () => {
    it('answers status and login code only to the browser holding the cookie', async () => {
      const { cookie, nonce } = await browserCookie();
      const status = await fetch(`${base()}/acme/session`, { headers: { cookie } });
      expect(status.status).to.equal(200);
      expect(await status.json()).to.deep.include({ state: 'waiting', loggedin: false });
      const qr = await fetch(`${base()}/acme/session/qr`, { headers: { cookie } });
      const body = (await qr.json()) as { qrData: { c: string }; qrUri: string };
      expect(body.qrData.c).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(body.qrUri).to.not.contain(nonce);
    });

    it('renders the QR image as SVG or PNG on request and refuses other formats', async () => {
      const { cookie } = await browserCookie();
      const svg = (await (
        await fetch(`${base()}/acme/session/qr?img=svg`, { headers: { cookie } })
      ).json()) as {
        img: string;
      };
      expect(svg.img).to.match(/^data:image\/svg\+xml;base64,/);
      expect(Buffer.from(svg.img.split(',')[1] ?? '', 'base64').toString()).to.match(/^<svg /);
      const png = (await (
        await fetch(`${base()}/acme/session/qr?img=png`, { headers: { cookie } })
      ).json()) as {
        img: string;
      };
      expect(
        Buffer.from(png.img.split(',')[1] ?? '', 'base64')
          .subarray(1, 4)
          .toString(),
      ).to.equal('PNG');
      const before = await storedState(h.knex);
      const bad = await fetch(`${base()}/acme/session/qr?img=gif`, { headers: { cookie } });
      expect(bad.status).to.equal(400);
      expect(await storedState(h.knex)).to.deep.equal(before);
    });

    it('401 without cookie, with a wrong cookie, or with a cookie of another server; nothing changes', async () => {
      const { nonce } = await browserCookie();
      const before = await storedState(h.knex);
      for (const path of ['session', 'session/qr', 'session/events']) {
        expect((await fetch(`${base()}/acme/${path}`)).status, path).to.equal(401);
        const wrong = { cookie: 'nextauth_ns_acme=not-the-nonce' };
        expect((await fetch(`${base()}/acme/${path}`, { headers: wrong })).status, path).to.equal(401);
        // The right nonce under another server's cookie name is still no session of that server.
        const foreign = { cookie: `nextauth_ns_other=${nonce}` };
        expect((await fetch(`${base()}/other/${path}`, { headers: foreign })).status, path).to.equal(401);
      }
      expect(await storedState(h.knex)).to.deep.equal(before);
    });
  });

  describe('GET /ns/servers/{server}/branding', () => {
    it('answers the display name and a data: logo without a cookie, and nothing secret', async () => {
      const png = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]).toString('base64')}`;
      await h.knex('ns_virtual_servers').where({ name: 'acme' }).update({ logo: png });
      const res = await fetch(`${base()}/acme/branding`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('public, max-age=60');
      expect(await res.json()).to.deep.equal({
        name: 'acme',
        displayName: 'ACME',
        logo: png,
        accentLight: null,
        accentDark: null,
        appLink: null,
        recoveryCodes: false,
      });
      expect(res.headers.get('set-cookie')).to.equal(null);
      expect(await h.knex('ns_sessions').select('*')).to.deep.equal([]);
    });

    it('leaves out an https logo (the page loads nothing third-party)', async () => {
      await h
        .knex('ns_virtual_servers')
        .where({ name: 'other' })
        .update({ logo: 'https://cdn.example/l.png' });
      expect(await (await fetch(`${base()}/other/branding`)).json()).to.deep.equal({
        name: 'other',
        displayName: 'Other',
        logo: null,
        accentLight: null,
        accentDark: null,
        appLink: null,
        recoveryCodes: false,
      });
    });

    it('404s an unknown or malformed server name with problem JSON', async () => {
      for (const name of ['nope', 'Bad_Name']) {
        const res = await fetch(`${base()}/${name}/branding`);
        expect(res.status).to.equal(404);
        expect(res.headers.get('content-type')).to.contain('application/problem+json');
      }
    });
  });

  describe('GET /ns/servers/{server}/session/events (SSE)', () => {
    it('streams waiting, then scanned and loggedin as the service changes state, then ends', async () => {
      const { cookie, nonce } = await browserCookie();
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.contain('text/event-stream');
      const events = sseReader(res, abort);
      try {
        const first = await events.next();
        expect(first?.event).to.equal('state');
        expect(JSON.parse(first?.data ?? '')).to.deep.include({ state: 'waiting' });

        const { code } = await h.sessions.currentLoginCode(nonce);
        await h.sessions.redeemLoginCode(code);
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'scanned' });

        await h.sessions.markLoggedIn(await sessionIdOf(nonce), { userid: 'alice', accountId: 'a1' });
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({
          state: 'loggedin',
          loggedin: true,
          userid: 'alice',
        });
        // A final state closes the stream.
        expect(await events.next()).to.equal(undefined);
      } finally {
        events.close();
      }
    });

    it('releases its bus subscription when the browser goes away', async () => {
      const { cookie } = await browserCookie();
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      const events = sseReader(res, abort);
      await events.next();
      expect(h.activeSubscriptions()).to.equal(1);
      events.close();
      const deadline = Date.now() + 2000;
      while (h.activeSubscriptions() > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(h.activeSubscriptions()).to.equal(0);
    });

    it('still delivers changes when bus messages are lost, by polling storage', async () => {
      await start({ separateBus: true, sse: { pollIntervalMs: 50, heartbeatMs: 60_000 } });
      const { cookie, nonce } = await browserCookie();
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      const events = sseReader(res, abort);
      try {
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'waiting' });
        await h.sessions.markDeclined(await sessionIdOf(nonce));
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'declined' });
        expect(await events.next()).to.equal(undefined);
      } finally {
        events.close();
      }
    });

    it('writes the status a bus message carries without reading storage; other messages make it read', async () => {
      const { cookie, nonce } = await browserCookie();
      const id = await sessionIdOf(nonce);
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      const events = sseReader(res, abort);
      try {
        const waiting = JSON.parse((await events.next())?.data ?? '');
        expect(waiting).to.deep.include({ state: 'waiting' });
        // A status on the bus is written as it is: storage still says waiting.
        const announced = { ...waiting, state: 'scanned' };
        await h.kv.publish(sessionChannel(id), JSON.stringify(announced));
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.equal(announced);
        expect((await h.sessions.getStatus(nonce)).state).to.equal('waiting');
        // A late message of an earlier state never takes the stream back.
        await h.kv.publish(sessionChannel(id), JSON.stringify(waiting));
        // A message without a status (an older instance sends only the state's name) is a cue to read
        // storage, which now says declined.
        await h.knex('ns_sessions').where({ id }).update({ state: 'declined' });
        await h.kv.publish(sessionChannel(id), 'declined');
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'declined' });
        expect(await events.next()).to.equal(undefined);
      } finally {
        events.close();
      }
    });

    it('tells a "not me" decline from a plain one, by the bus and by storage', async () => {
      await start({ separateBus: true, sse: { pollIntervalMs: 50, heartbeatMs: 60_000 } });
      const { cookie, nonce } = await browserCookie();
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      const events = sseReader(res, abort);
      try {
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'waiting' });
        await h.sessions.markDeclined(await sessionIdOf(nonce), { reason: 'not_me' });
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({
          state: 'declined',
          declineReason: 'not_me',
        });
      } finally {
        events.close();
      }
      const status = await fetch(`${base()}/acme/session`, { headers: { cookie } });
      expect(await status.json()).to.deep.include({ state: 'declined', declineReason: 'not_me' });
    });

    it('reports expiry found by the poll', async () => {
      await start({ sse: { pollIntervalMs: 50, heartbeatMs: 60_000 } });
      const { cookie } = await browserCookie();
      const abort = new AbortController();
      const res = await fetch(`${base()}/acme/session/events`, { headers: { cookie }, signal: abort.signal });
      const events = sseReader(res, abort);
      try {
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'waiting' });
        h.clock.advance(120_000 + loginCodeRotationMs);
        expect(JSON.parse((await events.next())?.data ?? '')).to.deep.include({ state: 'expired' });
      } finally {
        events.close();
      }
    });
  });
});
