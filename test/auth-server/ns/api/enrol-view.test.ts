// The enrol page's NS side over a real listener: `page: true` on enrol links, the view opened with the view
// token (claimed by the first browser), its refusals (unknown, another server's, expired, used, claimed,
// rate-limited) that leave the view unchanged, and the SSE stream that reports the enrolment.
import { expect } from 'chai';
import { enrolChannel } from '../../../../auth-server/ns/accounts/enrol-view-service.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { visualHash } from '../../../../protocol/visual-hash.js';
import { insertAccount } from './fixtures-admin.js';
import { type Harness, rootKey, sseReader, startHarness } from './harness.js';

interface Link {
  uri: string;
  expiresAt: string;
  page: { url: string; viewToken: string; expiresAt: string };
}

describe('ns enrol page views', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ publicUrl: 'https://id.example.test', limits: { enrolViewsPerMinute: 1000 } });
  });
  afterEach(() => h.close());

  const createLink = async (body: Record<string, unknown> = {}): Promise<Link> => {
    const res = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({ server: 'acme', userid: 'alice', page: true, ...body }),
    });
    expect(res.status).to.equal(201);
    return (await res.json()) as Link;
  };
  const open = (token: string, cookie?: string, server = 'acme') =>
    fetch(`${h.url}/ns/servers/${server}/enrol-view`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ token }),
    });
  /** `name=value` of the Set-Cookie, for the next request. */
  const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const views = () => h.knex('ns_enrol_views').select('*');
  const reasonOf = async (res: Response) => ((await res.json()) as { reason?: string }).reason;

  it('page:true returns a page URL whose fragment holds a view token, stored only as its hash', async () => {
    const link = await createLink({ announceInfo: 'Alice Martin' });
    expect(link.page.url).to.equal(`https://id.example.test/enrol/acme#t=${link.page.viewToken}`);
    expect(link.page.expiresAt).to.equal(link.expiresAt);
    const [row] = await views();
    expect(row.view_hash).to.equal(sha256Hex(link.page.viewToken));
    expect(row.claim_hash).to.equal(null);
    // Neither the view token nor the enrol token is readable from the database.
    const enrolToken = parseEnrolUri(link.uri).t;
    expect(JSON.stringify(row)).to.not.contain(enrolToken).and.not.contain(link.page.viewToken);
    // Without page:true, no view and no page in the answer.
    const res = await fetch(`${h.url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({ server: 'acme', userid: 'bob' }),
    });
    expect(await res.json()).to.not.have.property('page');
    expect(await views()).to.have.length(1);
  });

  it('opens the view: QR of the enrol URI, key pictures, announceinfo; the first browser keeps it', async () => {
    const link = await createLink({ announceInfo: 'Alice Martin' });
    const res = await open(link.page.viewToken);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.contain('no-store');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).to.match(
      /^__Host-nextauth_enrol_acme=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Strict; Secure$/,
    );
    const body = (await res.json()) as Record<string, unknown>;
    const fp = parseEnrolUri(link.uri).fp;
    expect(body).to.deep.include({
      state: 'waiting',
      server: 'acme',
      expiresAt: link.expiresAt,
      qrUri: link.uri,
      keyFingerprint: fp,
      visualHash: visualHash(fp),
      announceInfo: 'Alice Martin',
    });
    expect(body.img).to.match(/^data:image\/svg\+xml;base64,/);
    const cookie = cookieOf(res);
    const [claimed] = await views();
    expect(claimed.claim_hash).to.equal(sha256Hex(cookie.split('=')[1] ?? ''));

    // The same browser again (a reload): the view, no new cookie.
    const again = await open(link.page.viewToken, cookie);
    expect(again.status).to.equal(200);
    expect(again.headers.get('set-cookie')).to.equal(null);
    // Another browser (no cookie, or another one): refused, the claim unchanged.
    const other = await open(link.page.viewToken);
    expect(other.status).to.equal(409);
    expect(await reasonOf(other)).to.equal('enrol_view_claimed');
    const forged = await open(link.page.viewToken, `__Host-nextauth_enrol_acme=${'A'.repeat(43)}`);
    expect(forged.status).to.equal(409);
    expect(await views()).to.deep.equal([claimed]);
  });

  it('of N browsers opening the view at once exactly one gets it', async () => {
    const link = await createLink();
    const results = await Promise.all(Array.from({ length: 6 }, () => open(link.page.viewToken)));
    expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409, 409, 409, 409, 409]);
    const winner = results.find((r) => r.status === 200);
    const [row] = await views();
    expect(row.claim_hash).to.equal(sha256Hex(cookieOf(winner as Response).split('=')[1] ?? ''));
  });

  it('refuses unknown, malformed and other servers’ view tokens (404) without claiming', async () => {
    const link = await createLink();
    for (const [token, server] of [
      ['A'.repeat(43), 'acme'],
      ['not a token', 'acme'],
      [link.page.viewToken, 'other'],
      [link.page.viewToken, 'nosuch'],
    ] as const) {
      const res = await open(token, undefined, server);
      expect(res.status, `${token} @ ${server}`).to.equal(404);
      if (server !== 'nosuch') expect(await reasonOf(res)).to.equal('enrol_view_unknown');
    }
    expect((await open(link.page.viewToken, undefined, 'Bad_Name')).status).to.equal(404);
    expect((await views())[0].claim_hash).to.equal(null);
  });

  it('refuses bodies that are not {token} as JSON', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${h.url}/ns/servers/acme/enrol-view`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    expect((await post('token=x', 'application/x-www-form-urlencoded')).status).to.equal(415);
    expect((await post('{"token":"x","extra":1}')).status).to.equal(400);
    expect((await post(JSON.stringify({ token: 'x'.repeat(300) }))).status).to.equal(413);
  });

  it('an expired view is refused (409 enrol_view_expired) and not claimed', async () => {
    const link = await createLink({ ttlSeconds: 60 });
    h.clock.advance(60_000);
    const res = await open(link.page.viewToken);
    expect(res.status).to.equal(409);
    expect(await reasonOf(res)).to.equal('enrol_view_expired');
    expect((await views())[0].claim_hash).to.equal(null);
  });

  it('a used link ends the view (409 enrol_view_used), also for the browser that had it', async () => {
    const link = await createLink();
    const cookie = cookieOf(await open(link.page.viewToken));
    await h.knex('ns_enrol_tokens').update({ used_at: h.clock.now() });
    for (const c of [cookie, undefined]) {
      const res = await open(link.page.viewToken, c);
      expect(res.status).to.equal(409);
      expect(await reasonOf(res)).to.equal('enrol_view_used');
    }
  });

  it('rate-limits opening per client address, refusals included (429 with Retry-After)', async () => {
    await h.close();
    h = await startHarness({ limits: { enrolViewsPerMinute: 3 } });
    const link = await createLink();
    for (let i = 0; i < 3; i++) expect((await open('A'.repeat(43))).status).to.equal(404);
    const limited = await open(link.page.viewToken);
    expect(limited.status).to.equal(429);
    expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
    expect((await views())[0].claim_hash).to.equal(null);
    h.clock.advance(60_000);
    expect((await open(link.page.viewToken)).status).to.equal(200);
  });

  describe('following the view', () => {
    const events = (cookie?: string) => {
      const abort = new AbortController();
      return fetch(`${h.url}/ns/servers/acme/enrol-view/events`, {
        headers: cookie ? { cookie } : {},
        signal: abort.signal,
      }).then((res) => ({ res, abort }));
    };

    it('streams waiting, then enrolled with the device description once the phone used the link', async () => {
      const link = await createLink();
      const cookie = cookieOf(await open(link.page.viewToken));
      const { res, abort } = await events(cookie);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.contain('text/event-stream');
      const sse = sseReader(res, abort);
      const first = await sse.next();
      expect(JSON.parse(first?.data ?? '{}')).to.deep.equal({
        state: 'waiting',
        server: 'acme',
        expiresAt: link.expiresAt,
      });
      // What completeEnrol does in its transaction, then the cue on the bus.
      const accountId = await insertAccount(h, 'alice');
      const tokenHash = sha256Hex(parseEnrolUri(link.uri).t);
      await h.knex('ns_enrol_tokens').update({ used_at: h.clock.now(), account_id: accountId });
      await h.kv.publish(enrolChannel(tokenHash), '{}');
      const second = await sse.next();
      expect(JSON.parse(second?.data ?? '{}')).to.deep.include({ state: 'enrolled', description: 'Pixel 9' });
      expect(await sse.next()).to.equal(undefined);
      expect(h.activeSubscriptions()).to.equal(0);
      // The status endpoint says the same after the fact.
      const status = await fetch(`${h.url}/ns/servers/acme/enrol-view`, { headers: { cookie } });
      expect(await status.json()).to.deep.include({ state: 'enrolled' });
    });

    it('needs the cookie of the browser that opened the view (401)', async () => {
      const link = await createLink();
      await open(link.page.viewToken);
      expect((await events()).res.status).to.equal(401);
      expect((await events(`__Host-nextauth_enrol_acme=${'A'.repeat(43)}`)).res.status).to.equal(401);
      expect((await fetch(`${h.url}/ns/servers/acme/enrol-view`)).status).to.equal(401);
    });

    it('reports expired once the link has expired', async () => {
      const link = await createLink({ ttlSeconds: 60 });
      const cookie = cookieOf(await open(link.page.viewToken));
      h.clock.advance(60_000);
      const { res, abort } = await events(cookie);
      const sse = sseReader(res, abort);
      expect(JSON.parse((await sse.next())?.data ?? '{}')).to.include({ state: 'expired' });
      expect(await sse.next()).to.equal(undefined);
    });
  });
});
