// Recovery codes over a real listener: generated on the devices page (fresh login, server policy on), stored
// only as HMACs, each used once (N concurrent uses → one enrol link), wrong codes lock the userid, limits per
// address and userid, and a server without the policy has no recovery page. Refusals store nothing.
import { expect } from 'chai';
import { freshLoginMs } from '../../../../auth-server/ns/api/device-routes.js';
import { insertAccount } from './fixtures-admin.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

describe('ns recovery codes', () => {
  let h: Harness;
  let cookie: string;
  const start = async (options: HarnessOptions = {}, policy = true) => {
    await h?.close();
    h = await startHarness(options);
    await h.servers.update('acme', { recoveryCodes: policy });
    const account = await insertAccount(h, 'alice');
    const { nonce, session } = await h.sessions.createSession({
      server: 'acme',
      userAgent: 't',
      ip: '127.0.0.1',
    });
    await h.sessions.markLoggedIn(session, { userid: 'alice', accountId: account });
    cookie = `nextauth_ns_acme=${nonce}`;
  };
  beforeEach(() => start());
  afterEach(() => h.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/ns/servers/acme${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const generate = async () => {
    const res = await post('/devices/recovery-codes', {}, { cookie });
    expect(res.status).to.equal(201);
    return ((await res.json()) as { codes: string[] }).codes;
  };
  const recover = (code: string, userid = 'alice', ip?: string) =>
    post('/recovery', { userid, code }, ip ? { 'x-forwarded-for': ip } : {});
  const stored = async () => ({
    codes: await h.knex('ns_recovery_codes').select('*').orderBy('id'),
    tokens: await h.knex('ns_enrol_tokens').select('*').orderBy('token_hash'),
  });

  it('generates ten codes, shown once and stored only as HMACs; the list shows how many are left', async () => {
    const codes = await generate();
    expect(codes).to.have.length(10);
    for (const code of codes) expect(code).to.match(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(new Set(codes).size).to.equal(10);
    const rows = await h.knex('ns_recovery_codes').select('*');
    expect(rows).to.have.length(10);
    const dump = JSON.stringify(rows);
    for (const code of codes) {
      expect(dump).to.not.contain(code);
      expect(dump).to.not.contain(code.replace('-', ''));
    }
    for (const row of rows) expect(row.code_hash).to.match(/^[0-9a-f]{64}$/);
    const list = await (await fetch(`${h.url}/ns/servers/acme/devices`, { headers: { cookie } })).json();
    expect(list.recoveryCodes).to.deep.equal({ enabled: true, remaining: 10 });
    const [event] = (await h.audit.query({ types: ['recovery_codes.generated'] })).events;
    expect(event?.actor).to.deep.equal({ kind: 'user', id: 'alice' });
    expect(event?.details).to.deep.equal({ count: 10 });
  });

  it('regenerating replaces the old set', async () => {
    const first = await generate();
    await generate();
    expect((await recover(first[0] ?? '')).status).to.equal(400);
    expect(await h.knex('ns_recovery_codes').count({ n: '*' })).to.deep.equal([{ n: 10 }]);
  });

  it('a code (typed loosely) gives an enrol link for the userid once; the used code is refused', async () => {
    const [code = ''] = await generate();
    const res = await recover(` ${code.toLowerCase().replace('-', ' ')} `.slice(0, 32));
    expect(res.status).to.equal(201);
    const body = await res.json();
    expect(body.uri).to.match(/^nextauth:\/\/enrol\?d=/);
    expect(body.img).to.match(/^data:image\/svg\+xml;base64,/);
    expect(body.visualHash.words).to.have.length(4);
    expect(await h.knex('ns_enrol_tokens').select('userid')).to.deep.equal([{ userid: 'alice' }]);
    const [used] = (await h.audit.query({ types: ['recovery_code.used'] })).events;
    expect(used?.subject).to.deep.equal({ kind: 'user', id: 'alice' });
    const before = await stored();
    const again = await recover(code);
    expect(again.status).to.equal(400);
    expect(await again.json()).to.include({ reason: 'recovery_code_invalid' });
    expect(await stored()).to.deep.equal(before);
  });

  it('of 8 concurrent uses of one code exactly one gets an enrol link', async () => {
    await start({ limits: { devices: { recoverPerIpMinute: 100, recoverPerUserHour: 100 } } });
    const [code = ''] = await generate();
    const answers = await Promise.all(Array.from({ length: 8 }, () => recover(code)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).to.have.length(1);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 400 || s === 429)).to.equal(true);
    expect(await h.knex('ns_enrol_tokens').count({ n: '*' })).to.deep.equal([{ n: 1 }]);
    expect(await h.knex('ns_recovery_codes').whereNotNull('used_at').count({ n: '*' })).to.deep.equal([
      { n: 1 },
    ]);
  });

  it('wrong codes count toward a lockout that refuses even a right code, and end with the window', async () => {
    const [code = ''] = await generate();
    for (let i = 0; i < 5; i++) {
      const res = await recover('AAAAA-AAAAA');
      expect(res.status).to.equal(400);
      expect(await res.json()).to.include({ code: 'bad_request', reason: 'recovery_code_invalid' });
    }
    const before = await stored();
    const locked = await recover(code);
    expect(locked.status).to.equal(429);
    expect(await locked.json()).to.include({ reason: 'recovery_locked' });
    expect(locked.headers.get('retry-after')).to.match(/^\d+$/);
    expect(await stored()).to.deep.equal(before);
    const refused = (await h.audit.query({ types: ['recovery_code.refused'] })).events;
    expect(refused).to.have.length(6);
    h.clock.advance(15 * 60_000 + 1);
    expect((await recover(code)).status).to.equal(201);
  });

  it('another user’s code and malformed input are refused without a change', async () => {
    const [code = ''] = await generate();
    const before = await stored();
    expect((await recover(code, 'bob')).status).to.equal(400);
    for (const body of [
      { userid: 'alice' },
      { userid: '', code },
      { userid: 'alice', code: 'x'.repeat(33) },
      [],
      'x',
    ]) {
      const res = await post('/recovery', body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
    }
    const form = await fetch(`${h.url}/ns/servers/acme/recovery`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `userid=alice&code=${code}`,
    });
    expect(form.status).to.equal(415);
    expect(await stored()).to.deep.equal(before);
  });

  it('limits attempts per userid', async () => {
    await start({ limits: { devices: { recoverPerUserHour: 2, recoverPerIpMinute: 100 } } });
    expect((await recover('AAAAA-AAAAA')).status).to.equal(400);
    expect((await recover('AAAAA-AAAAA')).status).to.equal(400);
    const limited = await recover('AAAAA-AAAAA');
    expect(limited.status).to.equal(429);
    expect(await limited.json()).to.include({ code: 'rate_limited' });
  });

  it('limits attempts per client address, whichever userids it tries', async () => {
    await start({ limits: { devices: { recoverPerIpMinute: 2, recoverPerUserHour: 100 } } });
    expect((await recover('AAAAA-AAAAA', 'u1')).status).to.equal(400);
    expect((await recover('AAAAA-AAAAA', 'u2')).status).to.equal(400);
    const before = await stored();
    const limited = await recover('AAAAA-AAAAA', 'u3');
    expect(limited.status).to.equal(429);
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    expect(await stored()).to.deep.equal(before);
  });

  it('generating needs a fresh login (403) and a logged-in browser (401)', async () => {
    h.clock.advance(freshLoginMs + 1);
    const stale = await post('/devices/recovery-codes', {}, { cookie });
    expect(stale.status).to.equal(403);
    expect(await stale.json()).to.include({ reason: 'reauthentication_required' });
    expect((await post('/devices/recovery-codes', {})).status).to.equal(401);
    expect(await h.knex('ns_recovery_codes').count({ n: '*' })).to.deep.equal([{ n: 0 }]);
  });

  it('with the policy off: no codes (403), no recovery page (404), stored codes unusable', async () => {
    const [code = ''] = await generate();
    await h.servers.update('acme', { recoveryCodes: false });
    const before = await stored();
    const gen = await post('/devices/recovery-codes', {}, { cookie });
    expect(gen.status).to.equal(403);
    expect(await gen.json()).to.include({ reason: 'recovery_codes_off' });
    const page = await recover(code);
    expect(page.status).to.equal(404);
    expect((await page.json()).code).to.equal('not_found');
    expect(await stored()).to.deep.equal(before);
    const list = await (await fetch(`${h.url}/ns/servers/acme/devices`, { headers: { cookie } })).json();
    expect(list.recoveryCodes.enabled).to.equal(false);
  });
});
