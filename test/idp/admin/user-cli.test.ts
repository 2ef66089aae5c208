// `nextauth user enrol-link` as a real child process against a running NS REST API: the URI alone on the
// first line, --json, the key from the environment or the data directory's root-api-key file, clear errors.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseEnrolUri } from '../../../protocol/mobile/uris.js';
import { visualHash } from '../../../protocol/visual-hash.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { cleanEnv, projectRoot, runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/http.js';
import { inCi } from '../../helpers/services.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth user enrol-link', function () {
  // Each case spawns the CLI (tsx compiles on start): generous on a loaded 2-core machine.
  this.timeout(180_000);
  let h: Harness;
  let dataDir: string;

  before(async () => {
    h = await startHarness();
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-user-cli-'));
  });
  after(async () => {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const enrolLink = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['user', 'enrol-link', ...args], env);

  it('prints the enrol URI alone on the first line (no QR when stdout is not a terminal)', async () => {
    const r = await enrolLink(['--server', 'acme', '--user', 'alice', '--url', h.url]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(2); // the URI and the final newline: nothing else
    const data = parseEnrolUri(lines[0] ?? '');
    expect(data).to.include({ s: 'acme' });
    const row = await h.knex('ns_virtual_servers').where({ name: 'acme' }).first();
    expect(data.fp).to.equal(row.identity_thumbprint);
  });

  it('--json prints {uri, expiresAt, keyFingerprint, visualHash}; --ttl sets the lifetime; --info the announceinfo', async () => {
    const r = await enrolLink([
      '--server',
      'acme',
      '--user',
      'bob',
      '--ttl',
      '120',
      '--info',
      'Bob Jones',
      '--json',
      '--url',
      h.url,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as {
      uri: string;
      expiresAt: string;
      keyFingerprint: string;
      visualHash: unknown;
    };
    expect(parseEnrolUri(body.uri).s).to.equal('acme');
    expect(new Date(body.expiresAt).getTime()).to.equal(h.clock.now() + 120_000);
    expect(body.keyFingerprint).to.equal(parseEnrolUri(body.uri).fp);
    expect(body.visualHash).to.deep.include({ text: visualHash(body.keyFingerprint).text });
    const token = await h.knex('ns_enrol_tokens').where({ userid: 'bob' }).first();
    expect(token.announce_info).to.equal('Bob Jones');
  });

  it('--page prints the enrol page URL alone on the first line (its view token in the fragment)', async () => {
    const r = await enrolLink(['--server', 'acme', '--user', 'dora', '--page', '--url', h.url]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^http:\/\/127\.0\.0\.1:3000\/enrol\/acme#t=[A-Za-z0-9_-]{43}$/);
    expect(await h.knex('ns_enrol_views').select('*')).to.have.length(1);
  });

  it('reads the key from <NEXTAUTH_DATA_DIR>/root-api-key and the URL from NEXTAUTH_PUBLIC_URL', async () => {
    const file = join(dataDir, 'root-api-key');
    await writeFile(file, `${rootKey}\n`);
    await chmod(file, 0o600);
    const r = await enrolLink(['--server', 'acme', '--user', 'carol'], {
      NEXTAUTH_DATA_DIR: dataDir,
      NEXTAUTH_PUBLIC_URL: h.url,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^nextauth:\/\/enrol\?d=/);
  });

  it('fails with one clear line: wrong key, unknown server, bad ttl, no key, nothing listening', async () => {
    const wrong = await enrolLink(['--server', 'acme', '--user', 'x', '--url', h.url], {
      NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef',
    });
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/^nextauth: enrol link refused: 401 .*wrong API key/);
    const unknown = await enrolLink(['--server', 'nope', '--user', 'x', '--url', h.url]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/^nextauth: enrol link refused: 404/);
    const ttl = await enrolLink(['--server', 'acme', '--user', 'x', '--ttl', '5000', '--url', h.url]);
    expect(ttl.code).to.equal(1);
    expect(ttl.stderr).to.match(/^nextauth: enrol link refused: 400/);
    const noKey = await enrolLink(['--user', 'x', '--url', h.url], {
      NEXTAUTH_DATA_DIR: join(dataDir, 'none'),
    });
    expect(noKey.code).to.equal(1);
    expect(noKey.stderr).to.match(/^nextauth: no API key: set NEXTAUTH_NS_ROOT_API_KEY/);
    const down = await enrolLink(['--user', 'x', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^nextauth: cannot reach http:\/\/127\.0\.0\.1:\d+ .*--url/);
    for (const r of [wrong, unknown, ttl, noKey, down]) {
      expect(r.stdout).to.equal('');
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    }
    expect(await h.knex('ns_enrol_tokens').where({ userid: 'x' })).to.deep.equal([]);
  });

  it('adds a terminal QR code after the URI when stdout is a terminal', async function () {
    // util-linux `script` gives the child a pseudo-terminal, as a person at a shell would.
    if (!existsSync('/usr/bin/script')) {
      if (inCi) throw new Error('required test tool missing (CI=true): /usr/bin/script (util-linux)');
      this.skip();
    }
    const command = `${process.execPath} --import tsx ${cli} user enrol-link --server acme --user dave --url ${h.url}`;
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
      cwd: projectRoot,
      env: cleanEnv({ NEXTAUTH_NS_ROOT_API_KEY: rootKey }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).to.equal(0);
    const lines = out.split(/\r?\n/);
    expect(parseEnrolUri(lines[0] ?? '').s).to.equal('acme');
    expect(lines.slice(1).join('\n')).to.match(/[▀▄█]/);
  });

  it('is listed in --help', async () => {
    const r = await runCli(cli, ['user', '--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('enrol-link');
  });
});
