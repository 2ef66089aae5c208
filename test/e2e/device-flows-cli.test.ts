// The phone's other flows end to end: `nextauth-device change-pin`, `history` and `delete` against a real
// `nextauth start` (NS + SFS), on every deployment kind.
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

describeEachDeployment('e2e: nextauth-device change-pin, history, delete', (deployment) => {
  let home: string;
  let url: string;
  let phoneUrl: string;
  let env: Record<string, string>;
  let accountId: string;

  const phone = (...args: string[]) => runCli(device, [...args, '--home', home]);

  before(async () => {
    ({ browserUrl: url, phoneUrl, env } = deployment());
    home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
    ok(await phone('init', phoneUrl));
    const link = ok(
      await runCli(
        nextauth,
        ['user', 'enrol-link', '--server', 'default', '--user', 'carol', '--url', phoneUrl],
        env,
      ),
    );
    ok(await phone('enrol', link.stdout.split('\n')[0] ?? '', '--pin', '1234'));
    const [account] = JSON.parse(ok(await phone('accounts', '--json')).stdout) as { id: string }[];
    accountId = account?.id ?? '';
  });

  after(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  async function qrUri(): Promise<{ cookie: string; qrUri: string }> {
    const res = await fetch(`${url}/ns/servers/default/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const qr = await fetch(`${url}/ns/servers/default/session/qr`, { headers: { cookie } });
    return { cookie, qrUri: ((await qr.json()) as { qrUri: string }).qrUri };
  }

  it('change-pin without flags and without a terminal fails with one clear line', async () => {
    const r = await phone('change-pin', '--new', '5678');
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.equal('nextauth-device: invalid_input: pass --old (stdin is not a terminal)');
  });

  it('a wrong current PIN exits non-zero with the attempts left; the PIN stays', async () => {
    const r = await phone('change-pin', '--old', '9999', '--new', '5678');
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.match(/^nextauth-device: pin_invalid \(\d+ attempts? left\)$/);
  });

  it('changes the PIN at the SFS: the new one logs in, the old one no longer does', async () => {
    const r = ok(await phone('change-pin', '--old', '1234', '--new', '5678', '--json'));
    expect(JSON.parse(r.stdout)).to.deep.include({ outcome: 'pin_changed' });
    const old = await qrUri();
    const refused = await phone('login', old.qrUri, '--pin', '1234', '--approve');
    expect(refused.stderr.trim()).to.match(/^nextauth-device: pin_invalid/);
    const fresh = await qrUri();
    ok(await phone('login', fresh.qrUri, '--pin', '5678', '--approve'));
    const status = await fetch(`${url}/ns/servers/default/session`, { headers: { cookie: fresh.cookie } });
    expect(await status.json()).to.deep.include({ loggedin: true, userid: 'carol' });
  });

  it('history --json lists the outcomes newest first with server, userid and time', async () => {
    const r = ok(await phone('history', '--json'));
    const entries = JSON.parse(r.stdout) as {
      at: string;
      flow: string;
      outcome: string;
      userid: string | null;
      server: { name: string } | null;
      error?: { code: string };
    }[];
    expect(entries.map((e) => `${e.flow}:${e.outcome}${e.error ? `:${e.error.code}` : ''}`)).to.deep.equal([
      'login:LOGGED_IN',
      'login:ERROR:pin_invalid',
      'change_pin:PIN_CHANGED',
      'change_pin:ERROR:pin_invalid',
      'enrol:ENROLLED',
    ]);
    expect(entries[0]).to.deep.include({ userid: 'carol' });
    expect(entries[0]?.server?.name).to.equal('default');
    expect(Date.parse(entries[0]?.at ?? '')).to.be.a('number').and.not.NaN;
    const human = ok(await phone('history')).stdout;
    expect(human.split('\n')[0]).to.match(/^\S+Z {2}login {2}LOGGED_IN {2}carol at default \(/);
  });

  it('delete removes the account at NS (audited, actor the account) and on the device', async () => {
    const r = ok(await phone('delete', accountId, '--json'));
    expect(JSON.parse(r.stdout)).to.deep.include({ outcome: 'deleted', ns: 'deleted' });
    expect(JSON.parse(ok(await phone('accounts', '--json')).stdout)).to.deep.equal([]);
    const events = ok(
      await runCli(nextauth, ['audit', 'export', '--type', 'account.deleted', '--url', phoneUrl], env),
    )
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { actor: { kind: string }; details: Record<string, unknown> });
    const mine = events.filter((e) => e.details.userid === 'carol');
    expect(mine).to.have.length(1);
    expect(mine[0]?.actor.kind).to.equal('account');
    // A login QR now finds no account on this device.
    const r2 = await phone('login', (await qrUri()).qrUri, '--pin', '5678', '--approve');
    expect(r2.stderr.trim()).to.match(/^nextauth-device: account_not_found/);
    const last = JSON.parse(ok(await phone('history', '--json')).stdout) as { outcome: string }[];
    expect(last.map((e) => e.outcome).slice(0, 2)).to.deep.equal(['ERROR', 'DELETED']);
  });

  it('delete of an unknown account exits non-zero with account_not_found', async () => {
    const r = await phone('delete', 'nope');
    expect(r.code).to.not.equal(0);
    expect(r.stderr.trim()).to.match(/^nextauth-device: account_not_found/);
  });
});
