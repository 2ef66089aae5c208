// `nextauth saml sp add|update|list|remove` and `nextauth saml keys|rotate-keys` as real child processes against a started embedded runtime, through the
// IdP management API: output, --json, and one clear line with a non-zero exit (nothing stored) on refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../../helpers/cli.js';
import { type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';
import { createSp } from '../saml/harness.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth saml sp (over /idp/api/v1)', function () {
  this.timeout(180_000);
  let e: Embedded;
  let dir: string;
  const rows = async () => JSON.stringify(await e.runtime.dbs.idp?.('idp_saml_sps').orderBy('entity_id'));
  const run = (...args: string[]) =>
    runCli(cli, ['saml', 'sp', ...args, '--url', e.url], { NEXTAUTH_NS_ROOT_API_KEY: rootApiKey });

  before(async () => {
    e = await startEmbedded();
    dir = mkdtempSync(join(tmpdir(), 'nextauth-saml-cli-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await e?.close();
  });

  it('adds an SP from a metadata file with attributes, lists it (also --json) and removes it', async () => {
    const sp = await createSp(e, 'https://cli.example/sp');
    const file = join(dir, 'sp.xml');
    writeFileSync(file, sp.metadata);
    const added = await run(
      'add',
      '--metadata',
      file,
      '--sign',
      'response',
      '--encrypt',
      '--attribute',
      'mail=email',
      '--attribute',
      'dept=attr:department',
    );
    expect(added.code, added.stderr).to.equal(0);
    expect(added.stdout).to.equal(
      `added default https://cli.example/sp (sign response, encrypted): http://127.0.0.1:9/saml/acs [mail=email dept=attr:department]\nIdP metadata: ${e.url}/saml/default/metadata\n`,
    );
    const list = await run('list', '--json');
    expect(list.code, list.stderr).to.equal(0);
    const parsed = JSON.parse(list.stdout) as { sps: { entityId: string; sign: string }[] };
    expect(parsed.sps.map((s) => [s.entityId, s.sign])).to.deep.equal([
      ['https://cli.example/sp', 'response'],
    ]);
    const removed = await run('remove', '--entity-id', 'https://cli.example/sp');
    expect(removed.code, removed.stderr).to.equal(0);
    expect(removed.stdout).to.equal('removed default https://cli.example/sp\n');
    expect((await run('list')).stdout).to.equal('');
  });

  it('updates an SP in place: settings, attributes, --no-encrypt, new metadata of the same entityID, --nameid-format', async () => {
    const sp = await createSp(e, 'https://update-cli.example/sp');
    const file = join(dir, 'update.xml');
    writeFileSync(file, sp.metadata);
    expect((await run('add', '--metadata', file, '--attribute', 'mail=email')).code).to.equal(0);
    const id = ['--entity-id', 'https://update-cli.example/sp'];
    const signed = await run('update', ...id, '--sign', 'assertion', '--encrypt');
    expect(signed.code, signed.stderr).to.equal(0);
    expect(signed.stdout).to.equal(
      'updated default https://update-cli.example/sp (sign assertion, encrypted): http://127.0.0.1:9/saml/acs [mail=email]\n',
    );
    const plain = await run('update', ...id, '--no-encrypt', '--attribute', 'uid=userid', '--json');
    expect(plain.code, plain.stderr).to.equal(0);
    expect(JSON.parse(plain.stdout)).to.deep.include({ encrypt: false, attributes: { uid: 'userid' } });
    const none = await run('update', ...id, '--no-attributes');
    expect(none.stdout).to.equal(
      'updated default https://update-cli.example/sp (sign assertion): http://127.0.0.1:9/saml/acs\n',
    );
    writeFileSync(
      file,
      sp.metadata.replace('http://127.0.0.1:9/saml/acs', 'http://127.0.0.1:9/saml/acs-new'),
    );
    const moved = await run('update', ...id, '--metadata', file);
    expect(moved.code, moved.stderr).to.equal(0);
    expect(moved.stdout).to.contain(': http://127.0.0.1:9/saml/acs-new');
    const email = await run('update', ...id, '--nameid-format', 'email');
    expect(email.code, email.stderr).to.equal(0);
    expect(email.stdout).to.contain('(sign assertion, nameid email)');
    const before = await rows();
    const bad = await run('update', ...id, '--nameid-format', 'emailAddress');
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr.split('\n')[0], bad.stderr).to.match(/^error: /);
    expect(await rows()).to.equal(before);
    const back = await run('update', ...id, '--nameid-format', 'metadata', '--json');
    expect(back.code, back.stderr).to.equal(0);
    expect(JSON.parse(back.stdout)).to.deep.include({ nameIdFormat: null });
  });

  it('update refusals: nothing to change, another SP’s metadata, an unknown SP; nothing changes', async () => {
    const sp = await createSp(e, 'https://update-refusals.example/sp');
    const file = join(dir, 'refusals.xml');
    writeFileSync(file, sp.metadata);
    expect((await run('add', '--metadata', file)).code).to.equal(0);
    const other = join(dir, 'other.xml');
    writeFileSync(other, (await createSp(e, 'https://someone-else.example/sp')).metadata);
    const before = await rows();
    const id = ['--entity-id', 'https://update-refusals.example/sp'];
    for (const args of [
      ['update', ...id],
      ['update', ...id, '--metadata', other],
      ['update', ...id, '--attribute', 'a=email', '--no-attributes'],
      ['update', '--entity-id', 'https://nobody.example', '--sign', 'both'],
    ]) {
      const res = await run(...args);
      expect(res.code, args.join(' ')).to.not.equal(0);
      expect(res.stderr.split('\n')[0], res.stderr).to.match(/^(error: |nextauth: )/);
    }
    expect(await rows()).to.equal(before);
  });

  it('refusals: a bad --sign, a bad --attribute, a missing file, unusable metadata, an unknown SP', async () => {
    const before = await rows();
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<x/>');
    for (const args of [
      ['add', '--metadata', bad, '--sign', 'all'],
      ['add', '--metadata', bad, '--attribute', 'noequals'],
      ['add', '--metadata', join(dir, 'missing.xml')],
      ['add', '--metadata', bad],
      ['remove', '--entity-id', 'https://nobody.example'],
    ]) {
      const res = await run(...args);
      expect(res.code, args.join(' ')).to.not.equal(0);
      // One line says what is wrong (commander adds the usage after it for bad options).
      expect(res.stderr.split('\n')[0], res.stderr).to.match(/^(error: |nextauth: )/);
    }
    expect(await rows()).to.equal(before);
  });

  it('keys and rotate-keys: list the pairs, rotate one use or both; a bad --use changes nothing', async () => {
    const cliRun = (...args: string[]) =>
      runCli(cli, ['saml', ...args, '--url', e.url], { NEXTAUTH_NS_ROOT_API_KEY: rootApiKey });
    const listed = await cliRun('keys', '--json');
    expect(listed.code, listed.stderr).to.equal(0);
    const before = (JSON.parse(listed.stdout) as { keys: { kid: string; use: string; state: string }[] })
      .keys;
    const next = before.find((k) => k.use === 'signing' && k.state === 'next');
    expect(before.map((k) => `${k.use}:${k.state}`)).to.deep.equal([
      'signing:current',
      'encryption:current',
      'signing:next',
      'encryption:next',
    ]);
    const refused = await cliRun('rotate-keys', '--use', 'all');
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr.split('\n')[0], refused.stderr).to.match(/^error: /);
    const rotated = await cliRun('rotate-keys', '--use', 'signing');
    expect(rotated.code, rotated.stderr).to.equal(0);
    expect(rotated.stdout).to.match(new RegExp(`^signing +current +${next?.kid} created `, 'm'));
    expect(rotated.stdout.trim().split('\n')).to.have.length(5);
    const both = await cliRun('rotate-keys');
    expect(both.code, both.stderr).to.equal(0);
    expect(both.stdout.trim().split('\n')).to.have.length(7);
  });
});
