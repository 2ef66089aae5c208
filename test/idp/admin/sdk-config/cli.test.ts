// `nextauth sdk-config keygen|sign|verify` as a real child process.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth sdk-config', function () {
  this.timeout(60_000);
  let dir: string;
  const file = (name: string) => join(dir, name);
  const run = (...args: string[]) => runCli(cli, ['sdk-config', ...args]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-sdk-config-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const signArgs = (key: string) => [
    'sign',
    '--key',
    key,
    '--app-id',
    'com.example.auth',
    '--app-name',
    'Example Authenticator',
    '--sfs-url',
    'wss://sfs.example.com/sfs/mobile',
    '--sfs-key',
    file('sfs.jwk'),
    '--mc-url',
    'wss://mc.example.com/mc/mobile',
    '--mc-key',
    file('mc.pub.jwk'),
  ];

  it('keygen writes a 0600 private key and prints only public material', async () => {
    const r = await run('keygen', '--out', file('publisher.jwk'), '--json');
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      file: string;
      fingerprint: string;
      publicKey: Record<string, string>;
    };
    expect(out.file).to.equal(file('publisher.jwk'));
    expect(out.fingerprint).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(out.publicKey).sort()).to.deep.equal(['crv', 'kty', 'x', 'y']);
    expect((await stat(file('publisher.jwk'))).mode & 0o777).to.equal(0o600);
    const { d } = JSON.parse(await readFile(file('publisher.jwk'), 'utf8')) as { d: string };
    expect(r.stdout + r.stderr).not.to.contain(d);

    const text = await run('keygen', '--out', file('mc.jwk'), '--public-out', file('mc.pub.jwk'));
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^wrote the publisher key to .*mc\.jwk \(mode 0600/);
    expect((await run('keygen', '--out', file('sfs.jwk'))).code).to.equal(0);
  });

  it('keygen refuses to overwrite a key with one clear line', async () => {
    const before = await readFile(file('publisher.jwk'), 'utf8');
    const r = await run('keygen', '--out', file('publisher.jwk'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(`nextauth: ${file('publisher.jwk')} already exists; not overwriting a key\n`);
    expect(await readFile(file('publisher.jwk'), 'utf8')).to.equal(before);
  });

  it('sign and verify round-trip (JWS file and --json document)', async () => {
    const signed = await run(
      ...signArgs(file('publisher.jwk')),
      '--expires-in',
      '365d',
      '--out',
      file('c.jws'),
    );
    expect(signed.code, signed.stderr).to.equal(0);
    expect(signed.stdout).to.equal(`wrote the signed configuration to ${file('c.jws')}\n`);

    const ok = await run('verify', file('c.jws'), '--publisher-key', file('publisher.jwk'));
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^valid: Example Authenticator \(com\.example\.auth\), signed by /);

    const doc = await run(...signArgs(file('publisher.jwk')), '--json');
    expect(doc.code, doc.stderr).to.equal(0);
    const document = JSON.parse(doc.stdout) as { config: string; publisherKey: unknown; fingerprint: string };
    await writeFile(file('doc.json'), doc.stdout);
    await writeFile(file('publisher.pub.jwk'), JSON.stringify(document.publisherKey));
    const json = await run(
      'verify',
      file('doc.json'),
      '--publisher-key',
      file('publisher.pub.jwk'),
      '--json',
    );
    expect(json.code, json.stderr).to.equal(0);
    const result = JSON.parse(json.stdout) as {
      valid: boolean;
      fingerprint: string;
      config: Record<string, unknown>;
    };
    expect(result.valid).to.equal(true);
    expect(result.fingerprint).to.equal(document.fingerprint);
    expect(result.config.expiresAt).to.equal(undefined);
    expect((result.config.sfs as { url: string }).url).to.equal('wss://sfs.example.com/sfs/mobile');
  });

  it('verify fails with the error code for another publisher or a tampered file', async () => {
    const other = await run('verify', file('c.jws'), '--publisher-key', file('mc.pub.jwk'));
    expect(other.code).to.equal(1);
    expect(other.stderr).to.match(/^nextauth: untrusted_publisher: [^\n]*\n$/);

    const [h, p, s] = (await readFile(file('c.jws'), 'utf8')).trim().split('.') as [string, string, string];
    await writeFile(file('tampered.jws'), `${h}.${p.slice(0, -2)}${p.endsWith('AA') ? 'BA' : 'AA'}.${s}`);
    const tampered = await run('verify', file('tampered.jws'), '--publisher-key', file('publisher.jwk'));
    expect(tampered.code).to.equal(1);
    expect(tampered.stderr).to.match(/^nextauth: (bad_signature|malformed): [^\n]*\n$/);
  });

  it('sign refuses bad input with one line and exit status 1', async () => {
    const badUrl = await run(
      ...signArgs(file('publisher.jwk')).map((a) => (a.startsWith('wss://sfs') ? 'https://sfs' : a)),
    );
    expect(badUrl.code).to.equal(1);
    expect(badUrl.stderr).to.match(/^nextauth: invalid SDK configuration: sfs\.url: [^\n]*\n$/);

    const publicAsKey = await run(...signArgs(file('mc.pub.jwk')));
    expect(publicAsKey.code).to.equal(1);
    expect(publicAsKey.stderr).to.equal(`nextauth: ${file('mc.pub.jwk')} is not a private P-256 JWK\n`);

    const badDuration = await run(...signArgs(file('publisher.jwk')), '--expires-in', 'forever');
    expect(badDuration.code).not.to.equal(0);
    expect(badDuration.stderr).to.contain('expected a duration such as 365d');
  });
});
