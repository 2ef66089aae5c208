// `nextauth-device bio add|remove|status|simulate` and `login --bio` end to end against a started embedded
// runtime (`nextauth start`: NS + SFS in one process, SQLite): biometric logins, PIN fallbacks, exit codes;
// `upgrade` (HEADLESS_UPGRADE) rotating the account key with the real NS; and a PIN lockout ending the
// browser's wait as `locked`.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliResult, exited, runCli, spawnCli, waitFor } from '../../../helpers/cli.js';
import { freePort } from '../../../helpers/http.js';

const nextauth = 'idp/admin/cli/main.ts';
const device = 'mobile-sdk/node/cli/main.ts';

function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

function failed(r: CliResult, line: RegExp): void {
  expect(r.code, r.stdout).to.equal(1);
  expect(r.stderr.trim()).to.match(line);
}

describe('nextauth-device bio against an embedded runtime', function () {
  this.timeout(120_000);
  let dataDir: string;
  let home: string;
  let url: string;
  let server: ChildProcess | undefined;

  const phone = (...args: string[]) => runCli(device, [...args, '--home', home]);
  const json = async (...args: string[]) => JSON.parse(ok(await phone(...args, '--json')).stdout);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-bio-e2e-'));
    home = await mkdtemp(join(tmpdir(), 'nextauth-bio-device-'));
    const port = await freePort();
    const adminPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawnCli(nextauth, ['start'], {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PUBLIC_URL: url,
      NEXTAUTH_PORT: String(port),
      NEXTAUTH_ADMIN_PORT: String(adminPort),
      NEXTAUTH_HOST: '127.0.0.1',
    });
    await waitFor(`http://127.0.0.1:${adminPort}/readyz`, 200, 60_000);
    ok(await phone('init', url));
    const link = ok(
      await runCli(nextauth, ['user', 'enrol-link', '--server', 'default', '--user', 'dave', '--url', url], {
        NEXTAUTH_DATA_DIR: dataDir,
      }),
    );
    ok(await phone('enrol', link.stdout.split('\n')[0] ?? '', '--pin', '1234'));
  });

  after(async () => {
    if (server) {
      server.kill('SIGTERM');
      await exited(server);
    }
    await rm(home, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  async function qr(): Promise<{ cookie: string; uri: string }> {
    const res = await fetch(`${url}/ns/servers/default/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const code = await fetch(`${url}/ns/servers/default/session/qr`, { headers: { cookie } });
    return { cookie, uri: ((await code.json()) as { qrUri: string }).qrUri };
  }

  async function loggedIn(cookie: string): Promise<boolean> {
    const res = await fetch(`${url}/ns/servers/default/session`, { headers: { cookie } });
    return ((await res.json()) as { loggedin: boolean }).loggedin;
  }

  it('bio --help lists the subcommands; bio add without biometrics on the phone is bio_unavailable', async () => {
    const help = ok(await phone('bio', '--help')).stdout;
    for (const sub of ['add', 'remove', 'status', 'simulate']) expect(help).to.contain(sub);
    failed(await phone('bio', 'add', '--pin', '1234'), /^nextauth-device: bio_unavailable/);
    expect(await json('bio', 'status')).to.deep.equal({
      available: false,
      enabled: false,
      invalidated: false,
    });
  });

  it('bio add checks the PIN at the SFS (a wrong one costs an attempt), then registers the key', async () => {
    expect(await json('bio', 'simulate', '--enrol')).to.deep.include({ enrolled: true, next: [] });
    failed(
      await phone('bio', 'add', '--pin', '9999'),
      /^nextauth-device: pin_invalid \(\d+ attempts? left\)$/,
    );
    expect(await json('bio', 'add', '--pin', '1234')).to.deep.include({
      outcome: 'bio_added',
      replaced: false,
    });
    expect(await json('bio', 'status')).to.deep.equal({ available: true, enabled: true, invalidated: false });
  });

  it('login --bio needs no PIN: the browser is logged in', async () => {
    const { cookie, uri } = await qr();
    const r = await json('login', uri, '--approve', '--bio');
    expect(r).to.deep.include({ outcome: 'approved', method: 'bio' });
    expect(await loggedIn(cookie)).to.equal(true);
  });

  it('a biometric miss falls back to the PIN given with --pin', async () => {
    ok(await phone('bio', 'simulate', '--fail'));
    const { cookie, uri } = await qr();
    const r = await json('login', uri, '--approve', '--bio', '--pin', '1234');
    expect(r).to.deep.include({ outcome: 'approved', method: 'pin', fallback: 'bio_failed' });
    expect(await loggedIn(cookie)).to.equal(true);
    expect((await json('bio', 'status')).enabled).to.equal(true);
  });

  it('a changed biometric set invalidates the key: PIN login, the key is gone here and at the SFS', async () => {
    ok(await phone('bio', 'simulate', '--change'));
    expect(await json('bio', 'status')).to.deep.include({ enabled: false, invalidated: true });
    const { cookie, uri } = await qr();
    const human = ok(await phone('login', uri, '--approve', '--bio', '--pin', '1234')).stdout;
    expect(human).to.match(/with the PIN \(the biometrics on this device changed/);
    expect(await loggedIn(cookie)).to.equal(true);
    expect(await json('bio', 'status')).to.deep.equal({
      available: true,
      enabled: false,
      invalidated: false,
    });
    // Without a key, --bio has nothing to use and says so (exit 1).
    failed(
      await phone('login', (await qr()).uri, '--approve', '--bio'),
      /^nextauth-device: bio_not_enrolled/,
    );
  });

  it('bio remove deletes the key without a PIN; history lists the biometric flows', async () => {
    expect((await json('bio', 'add', '--pin', '1234')).outcome).to.equal('bio_added');
    expect(await json('bio', 'remove')).to.deep.equal({ outcome: 'bio_removed', local: true, sfs: true });
    expect(await json('bio', 'remove')).to.deep.equal({ outcome: 'bio_removed', local: false, sfs: false });
    const { cookie, uri } = await qr();
    expect(await json('login', uri, '--approve', '--pin', '1234')).to.deep.include({ method: 'pin' });
    expect(await loggedIn(cookie)).to.equal(true);
    const flows = ((await json('history')) as { flow: string; outcome: string }[]).map(
      (e) => `${e.flow}:${e.outcome}`,
    );
    expect(flows.slice(0, 4)).to.deep.equal([
      'login:LOGGED_IN',
      'remove_biometrics:BIO_REMOVED',
      'remove_biometrics:BIO_REMOVED',
      'add_biometrics:BIO_ADDED',
    ]);
    expect(flows).to.include('add_biometrics:ERROR');
  });

  it('upgrade rotates the account key with NS without a PIN; logins then use the new key', async () => {
    const [before] = (await json('accounts')) as { id: string; keyThumbprint?: string }[];
    const r = await json('upgrade');
    expect(r).to.deep.equal({ outcome: 'upgraded', rotated: [before?.id], failed: [] });
    const { cookie, uri } = await qr();
    ok(await phone('login', uri, '--approve', '--pin', '1234'));
    expect(await loggedIn(cookie)).to.equal(true);
  });

  it('bio simulate refuses two changes at once', async () => {
    failed(
      await phone('bio', 'simulate', '--enrol', '--clear'),
      /^nextauth-device: invalid_input: choose one of/,
    );
  });

  // Last: it locks this device's PIN at the server.
  it('wrong PINs until the lockout: the browser that waits for that phone ends declined / locked', async () => {
    let last: { cookie: string; r: CliResult } | undefined;
    for (let i = 0; i < 5; i++) {
      const { cookie, uri } = await qr();
      last = { cookie, r: await phone('login', uri, '--approve', '--pin-only', '--pin', '0000') };
      expect(last.r.code).to.equal(1);
      if (/pin_locked/.test(last.r.stderr)) break;
    }
    expect(last?.r.stderr.trim()).to.match(/^nextauth-device: pin_locked \(try again in \d+ s\)$/);
    const res = await fetch(`${url}/ns/servers/default/session`, { headers: { cookie: last?.cookie ?? '' } });
    expect(await res.json()).to.deep.include({ state: 'declined', declineReason: 'locked' });
  });
});
