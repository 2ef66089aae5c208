// QR login end to end without a browser: `nextauth start`, `nextauth-device` as the phone, the NS browser
// endpoints (cookie + QR URI + status) as the login page would use them. Runs on every deployment kind.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliResult, runCli } from '../helpers/cli.js';
import { describeEachDeployment, nextauthCli as nextauth } from './deployments.js';

const device = 'mobile-sdk/node/cli/main.ts';

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

describeEachDeployment('e2e: QR login with nextauth-device', (deployment) => {
  let home: string;
  let url: string;
  let phoneUrl: string;
  let env: Record<string, string>;

  const phone = (...args: string[]) => runCli(device, [...args, '--home', home]);

  before(async () => {
    ({ browserUrl: url, phoneUrl, env } = deployment());
    home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
  });

  after(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** A login session as the login page starts it: nonce in an httpOnly cookie, QR URI from the server. */
  async function browserSession(): Promise<{ cookie: string; qrUri: string }> {
    const res = await fetch(`${url}/ns/servers/default/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'e2e-browser/1.0' },
      body: '{}',
    });
    expect(res.status).to.equal(201);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).to.match(/^nextauth_ns_default=/);
    const qr = await fetch(`${url}/ns/servers/default/session/qr`, { headers: { cookie } });
    expect(qr.status).to.equal(200);
    const { qrUri } = (await qr.json()) as { qrUri: string };
    expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
    return { cookie, qrUri };
  }

  async function status(cookie: string): Promise<{ state: string; loggedin: boolean; userid?: string }> {
    const res = await fetch(`${url}/ns/servers/default/session`, { headers: { cookie } });
    expect(res.status).to.equal(200);
    return (await res.json()) as { state: string; loggedin: boolean; userid?: string };
  }

  it('init trusts the server publisher key on first use and prints its fingerprint', async () => {
    const r = ok(await phone('init', phoneUrl, '--json'));
    const out = JSON.parse(r.stdout) as { publisherFingerprint: string; sfs: string };
    expect(out.publisherFingerprint).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(out.sfs).to.equal(`${phoneUrl.replace('http', 'ws')}/sfs/mobile`);
  });

  it('enrols alice from an enrol link with a new PIN', async () => {
    const link = ok(
      await runCli(
        nextauth,
        ['user', 'enrol-link', '--server', 'default', '--user', 'alice', '--url', phoneUrl],
        env,
      ),
    );
    const enrolUri = link.stdout.split('\n')[0] ?? '';
    expect(enrolUri).to.match(/^nextauth:\/\/enrol\?d=/);
    ok(await phone('enrol', enrolUri, '--pin', '1234'));
    const accounts = JSON.parse(ok(await phone('accounts', '--json')).stdout) as { userid: string }[];
    expect(accounts.map((a) => a.userid)).to.deep.equal(['alice']);
  });

  it('approving with the PIN logs the browser session in as alice', async () => {
    const { cookie, qrUri } = await browserSession();
    ok(await phone('login', qrUri, '--pin', '1234', '--approve'));
    const s = await status(cookie);
    expect(s).to.deep.include({ loggedin: true, state: 'loggedin', userid: 'alice' });
  });

  it('--deny declines the browser session', async () => {
    const { cookie, qrUri } = await browserSession();
    ok(await phone('login', qrUri, '--deny'));
    expect((await status(cookie)).state).to.equal('declined');
  });

  it('--not-me declines the browser session too', async () => {
    const { cookie, qrUri } = await browserSession();
    const r = ok(await phone('login', qrUri, '--not-me', '--json'));
    expect(JSON.parse(r.stdout)).to.deep.include({ outcome: 'not_me' });
    expect((await status(cookie)).state).to.equal('declined');
  });

  it('without a decision and without a terminal it fails with one clear line, before scanning', async () => {
    const { cookie, qrUri } = await browserSession();
    const r = await phone('login', qrUri, '--pin', '1234');
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.equal(
      'nextauth-device: invalid_input: pass --approve, --deny or --not-me (stdin is not a terminal)',
    );
    expect((await status(cookie)).state).to.equal('waiting');
  });

  it('a wrong PIN exits non-zero with the attempts left and leaves the session not logged in', async () => {
    const { cookie, qrUri } = await browserSession();
    const r = await phone('login', qrUri, '--pin', '9999', '--approve');
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.match(/^nextauth-device: pin_invalid \(\d+ attempts? left\)$/);
    expect((await status(cookie)).loggedin).to.equal(false);
  });

  // Last: it leaves alice's phone locked out. Only the phone hears "pin_locked" from the SFS; the
  // operator must find the lockout in the audit log of the server the phone tried to log in to.
  it('wrong PINs up to the lockout are reported to NS as a pin.lockout audit event', async () => {
    let last: CliResult | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { qrUri } = await browserSession();
      last = await phone('login', qrUri, '--pin', '9999', '--approve');
      if (last.stderr.includes('pin_locked')) break;
    }
    expect(last?.stderr.trim()).to.match(/^nextauth-device: pin_locked/);
    const events = async () =>
      ok(await runCli(nextauth, ['audit', 'export', '--type', 'pin.lockout', '--url', phoneUrl], env))
        .stdout.trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { subject: { kind: string }; details: Record<string, unknown> });
    // The report follows the phone's answer: give it a moment to commit.
    let found = await events();
    for (let i = 0; i < 50 && found.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      found = await events();
    }
    expect(found).to.have.length(1);
    expect(found[0]?.subject.kind).to.equal('account');
    expect(found[0]?.details).to.deep.include({ userid: 'alice', lockout: 'locked' });
    expect(found[0]?.details.retryAfterSeconds).to.be.a('number');
  });
});
