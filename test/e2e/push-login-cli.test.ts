// Push login end to end with the real `nextauth-device` (child processes) against an embedded runtime (NS +
// SFS + MC in-process): log in once by QR, log out (the app hears it), log in again by push through pull
// and through `listen`; wrong number, expired and replayed requests, "not me" with its policy block, push
// bombing, and provokeLogin refused without an authorised key. Each rejection checks stored state.
import { expect } from 'chai';
import type { Runtime } from '../../idp/runtime/runtime.js';
import { exited, spawnCli } from '../helpers/cli.js';
import {
  browserSession,
  deviceCli,
  enrolPhone,
  firstQrLogin,
  newPhone,
  ok,
  type Phone,
  sessionStatus,
} from '../helpers/device.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const rootKey = 'push-e2e-root-key-0123456789abcdef';

describe('e2e: push login with nextauth-device (pending, approve, deny, not-me, listen)', function () {
  this.timeout(120_000);
  let started: TestRuntime | undefined;
  let device: Phone;
  let home: string;
  let runtime: Runtime;
  let url: string;

  const phone = (...args: string[]) => device.run(...args);
  const ns = () => runtime.dbs.ns as NonNullable<Runtime['dbs']['ns']>;

  async function rest(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(`${url}/ns/api/v2/${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey, ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  const browser = () => browserSession(url);
  const status = (cookie: string) => sessionStatus(url, cookie);

  async function push(nonce: string, body: unknown = { userid: 'dave' }, key = rootKey) {
    return rest('POST', 'session/push', body, { 'x-nonce': nonce, 'x-apikey': key });
  }

  const pending = () => device.pending();

  async function pushRows(): Promise<Record<string, unknown>[]> {
    return ns()('ns_push_requests').orderBy('created_at');
  }

  before(async () => {
    device = await newPhone();
    home = device.home;
    started = await startTestRuntime({
      services: ['sfs', 'mc', 'ns'],
      env: { NEXTAUTH_NS_ROOT_API_KEY: rootKey },
    });
    ({ runtime, url } = started);
    // The first MC session (in enrolPhone) registers the app instance (and its mailbox key) at the MC.
    await enrolPhone(device, { url, rootKey, userid: 'dave' });
    // Room for every push of this file within one minute: the race below is about open requests.
    const policy = await rest('PATCH', 'servers/default', {
      policy: { pushesPerMinute: 60, clientPushesPerMinute: 60 },
    });
    expect(policy.status, await policy.clone().text()).to.equal(200);
  });

  after(async () => {
    await started?.close();
    await device?.remove();
  });

  it('QR login, then logout: the app records LOGGED_OUT through pull', async () => {
    const b = await firstQrLogin(device, url, { userid: 'dave' });
    const out = await fetch(`${url}/ns/api/v2/logout`, {
      method: 'POST',
      headers: { 'x-apikey': rootKey, 'x-nonce': b.nonce },
    });
    expect(out.status).to.equal(200);
    // The notice is no request: `pending` handles it (history) and lists nothing.
    expect(await pending()).to.deep.equal([]);
    const history = JSON.parse(ok(await phone('history', '--json')).stdout) as { outcome: string }[];
    expect(history[0]).to.include({ outcome: 'LOGGED_OUT' });
  });

  it('push login through pull: pending shows the request, approve with the number logs the browser in', async () => {
    const b = await browser();
    const res = await push(b.nonce);
    expect(res.status, await res.clone().text()).to.equal(200);
    const { match, requests } = (await res.json()) as { match: number; requests: { id: string }[] };
    expect(match).to.be.within(10, 99);
    const [request] = await pending();
    expect(request).to.include({ id: requests[0]?.id, type: 'login', server: 'default' });
    expect(request?.display).to.include({ userid: 'dave' });
    const r = ok(
      await phone('approve', request?.id ?? '', '--match', String(match), '--pin', '1234', '--json'),
    );
    expect(JSON.parse(r.stdout)).to.include({ outcome: 'approved' });
    expect(await status(b.cookie)).to.deep.include({ loggedin: true, userid: 'dave' });
    expect(await pending()).to.deep.equal([]);
    const account = (await ns()('ns_accounts').first()) as { last_push_at: unknown };
    expect(account.last_push_at).to.not.equal(null);
  });

  it('push login through listen: the subscription shows the request, approve answers it', async () => {
    const child = spawnCli(deviceCli, ['listen', '--json', '--count', '1', '--home', home], {});
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const subscribed = new Promise<void>((resolve) => {
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening')) resolve();
      });
    });
    await Promise.race([subscribed, exited(child)]);
    const b = await browser();
    const { match, requests } = (await (await push(b.nonce)).json()) as {
      match: number;
      requests: { id: string }[];
    };
    expect(await exited(child), stderr).to.equal(0);
    const line = JSON.parse(stdout.trim().split('\n')[0] ?? '{}') as { id: string; payload: string };
    expect(line.id).to.equal(requests[0]?.id);
    expect(JSON.parse(line.payload)).to.include({ type: 'login', userid: 'dave' });
    ok(await phone('approve', line.id, '--match', String(match), '--pin', '1234'));
    expect(await status(b.cookie)).to.deep.include({ loggedin: true, userid: 'dave' });

    // The logout notice through the subscription: printed, recorded as LOGGED_OUT, acknowledged.
    const count = async () =>
      (JSON.parse(ok(await phone('history', '--json')).stdout) as { outcome: string }[]).filter(
        (h) => h.outcome === 'LOGGED_OUT',
      ).length;
    const loggedOutBefore = await count();
    const second = spawnCli(deviceCli, ['listen', '--json', '--count', '1', '--home', home], {});
    let out2 = '';
    let err2 = '';
    second.stdout?.on('data', (d: Buffer) => {
      out2 += d.toString();
    });
    const listening = new Promise<void>((resolve) => {
      second.stderr?.on('data', (d: Buffer) => {
        err2 += d.toString();
        if (err2.includes('listening')) resolve();
      });
    });
    await Promise.race([listening, exited(second)]);
    const out = await fetch(`${url}/ns/api/v2/logout`, {
      method: 'POST',
      headers: { 'x-apikey': rootKey, 'x-nonce': b.nonce },
    });
    expect(out.status).to.equal(200);
    expect(await exited(second), err2).to.equal(0);
    const notice = JSON.parse(out2.trim()) as { payload: string };
    expect(JSON.parse(notice.payload)).to.include({ type: 'logout', userid: 'dave' });
    expect(await count()).to.equal(loggedOutBefore + 1);
  });

  it('a replayed request is refused by the device and, redeemed again, by NS', async () => {
    const b = await browser();
    const { match, requests } = (await (await push(b.nonce)).json()) as {
      match: number;
      requests: { id: string }[];
    };
    const id = requests[0]?.id ?? '';
    ok(await phone('approve', id, '--match', String(match), '--pin', '1234'));
    const again = await phone('approve', id, '--match', String(match), '--pin', '1234');
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.match(/replayed|unknown_request/);
    const row = (await ns()('ns_push_requests').where({ id }).first()) as { outcome: string };
    expect(row.outcome).to.equal('opened');
  });

  it('a wrong number is refused and audited; the request and the session stay as they were', async () => {
    const b = await browser();
    const { match } = (await (await push(b.nonce)).json()) as { match: number };
    const wrong = match === 99 ? 98 : match + 1;
    const [request] = await pending();
    const before = await pushRows();
    const r = await phone('approve', request?.id ?? '', '--match', String(wrong), '--pin', '1234');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('wrong_match');
    expect(await pushRows()).to.deep.equal(before);
    expect(await status(b.cookie)).to.deep.include({ state: 'waiting' });
    const audit = await ns()('ns_audit_events').where({ type: 'push.rejected' });
    expect(audit).to.have.length(1);
    // Still pending on the phone: the right number now logs in.
    ok(await phone('approve', request?.id ?? '', '--match', String(match), '--pin', '1234'));
    expect(await status(b.cookie)).to.deep.include({ loggedin: true });
  });

  it('deny declines without a PIN', async () => {
    const b = await browser();
    await push(b.nonce);
    const [request] = await pending();
    ok(await phone('deny', request?.id ?? ''));
    expect(await status(b.cookie)).to.deep.include({ state: 'declined' });
  });

  it('an expired request is refused and changes nothing', async () => {
    const b = await browser();
    const { requests } = (await (await push(b.nonce)).json()) as { requests: { id: string }[] };
    const id = requests[0]?.id ?? '';
    // Ends the request's life at NS; the sealed message still says it is valid, as a late delivery would.
    await ns()('ns_push_requests')
      .where({ id })
      .update({ expires_at: Date.now() - 1 });
    const before = await pushRows();
    const r = await phone('approve', id, '--match', '10', '--pin', '1234');
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('unknown_push');
    expect(await pushRows()).to.deep.equal(before);
    expect(await status(b.cookie)).to.deep.include({ state: 'waiting' });
  });

  it('provokeLogin is refused without an authorised API key and changes nothing', async () => {
    const b = await browser();
    const before = await pushRows();
    expect((await push(b.nonce, { userid: 'dave' }, 'not-a-key')).status).to.equal(401);
    const unknown = await push(b.nonce, { userid: 'nobody' });
    expect(unknown.status).to.equal(404);
    expect(await unknown.json()).to.include({ reason: 'no_account' });
    expect((await push(b.nonce, { userid: 'dave', accountid: 'x' })).status).to.equal(400);
    expect(await pushRows()).to.deep.equal(before);
  });

  it('the login page pushes only for a browser with the returning-user cookie of a past login', async () => {
    const { known } = await firstQrLogin(device, url, { userid: 'dave' });
    expect(known).to.match(/^nextauth_ns_default_known=v1\./);
    const b = await browser();
    const pagePush = (cookie: string) =>
      fetch(`${url}/ns/servers/default/session/push`, { method: 'POST', headers: { cookie } });
    const before = await pushRows();
    // Without the cookie, or with a forged one (another account id under the same tag): refused, nothing stored.
    expect((await pagePush(b.cookie)).status).to.equal(403);
    const forged = known.replace(/v1\.[^.]+\./, 'v1.someone-else.');
    expect((await pagePush(`${b.cookie}; ${forged}`)).status).to.equal(403);
    const offered = await fetch(`${url}/ns/servers/default/push`, { headers: { cookie: b.cookie } });
    expect(await offered.json()).to.deep.equal({ available: false });
    expect(await pushRows()).to.deep.equal(before);
    // With it: the number for the page, the request on the phone.
    const res = await pagePush(`${b.cookie}; ${known}`);
    expect(res.status, await res.clone().text()).to.equal(200);
    const { match } = (await res.json()) as { match: number };
    const [request] = await pending();
    ok(await phone('approve', request?.id ?? '', '--match', String(match), '--pin', '1234'));
    expect(await status(b.cookie)).to.deep.include({ loggedin: true, userid: 'dave' });
  });

  it('push bombing: racing pushes past the open-request limit get 429 and store nothing more', async () => {
    const b = await Promise.all([1, 2, 3, 4, 5, 6].map(() => browser()));
    // Answer what is open first, so the limit counts only this race.
    for (const r of await pending()) ok(await phone('deny', r.id));
    const answers = await Promise.all(b.map((s) => push(s.nonce)));
    const statuses = answers.map((a) => a.status);
    const pushed = statuses.filter((s) => s === 200).length;
    expect(pushed).to.be.at.least(1).and.at.most(3);
    expect(statuses.filter((s) => s === 429).length).to.equal(6 - pushed);
    const refused = answers.find((a) => a.status === 429);
    const problem = (await refused?.json()) as { reason: string };
    expect(['too_many_open_pushes', 'push_rate_limited']).to.include(problem.reason);
    expect(refused?.headers.get('retry-after')).to.match(/^\d+$/);
    const open = await ns()('ns_push_requests').whereNull('used_at').andWhere('expires_at', '>', Date.now());
    expect(open).to.have.length(pushed);
    for (const r of await pending()) ok(await phone('deny', r.id));
  });

  it('one API key racing pushes for one user gets clientPushesPerMinute through, 429 for the rest; another key is not held back', async () => {
    const limit = await rest('PATCH', 'servers/default', { policy: { clientPushesPerMinute: 2 } });
    expect(limit.status, await limit.clone().text()).to.equal(200);
    // Fresh keys: the root key's pushes earlier in this minute count against it, and so they should.
    const newKey = async (name: string) => {
      const created = await rest('POST', 'servers/default/apikeys', { name, roles: ['sessions'] });
      expect(created.status, await created.clone().text()).to.equal(201);
      return ((await created.json()) as { key: string }).key;
    };
    const racerKey = await newKey('racing integrator');
    const otherKey = await newKey('second integrator');
    try {
      for (const r of await pending()) ok(await phone('deny', r.id));
      // The limit counts per minute: start the race well inside one, so a window boundary cannot split it.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
      const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => browser()));
      const before = await pushRows();
      const answers = await Promise.all(sessions.map((s) => push(s.nonce, { userid: 'dave' }, racerKey)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).to.deep.equal([200, 200, 429, 429, 429]);
      const refused = answers.find((a) => a.status === 429);
      expect(refused?.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(await refused?.json()).to.include({ status: 429, reason: 'client_push_rate_limited' });
      expect(refused?.headers.get('retry-after')).to.match(/^\d+$/);
      // Only the two that went stored a request.
      expect((await pushRows()).length - before.length).to.equal(2);
      const third = await browser();
      const other = await push(third.nonce, { userid: 'dave' }, otherKey);
      expect(other.status, await other.clone().text()).to.equal(200);
    } finally {
      for (const r of await pending()) ok(await phone('deny', r.id));
      await rest('PATCH', 'servers/default', { policy: { clientPushesPerMinute: 60 } });
    }
  });

  it('"not me" cancels the login, is audited, and blocks further pushes to the account', async () => {
    const b = await browser();
    const res = await push(b.nonce);
    expect(res.status, await res.clone().text()).to.equal(200);
    const [request] = await pending();
    ok(await phone('not-me', request?.id ?? ''));
    expect(await status(b.cookie)).to.deep.include({ state: 'declined', declineReason: 'not_me' });
    expect(await ns()('ns_audit_events').where({ type: 'account.push_blocked' })).to.have.length(1);
    const next = await browser();
    const before = await pushRows();
    const blocked = await push(next.nonce);
    expect(blocked.status).to.equal(409);
    expect(await blocked.json()).to.include({ reason: 'push_blocked' });
    expect(await pushRows()).to.deep.equal(before);
  });
});
