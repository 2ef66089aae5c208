// `nextauth server update --accent-light/--accent-dark/--app-link/--recovery-codes` as a real child process:
// the flags become the REST v2 patch, --no-* clears, and a refused value is one clear line with no change.
import { expect } from 'chai';
import { managedState } from '../../auth-server/ns/api/fixtures-admin.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth server update: branding flags', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const run = (args: string[]) =>
    runCli(cli, ['server', ...args, '--url', h.url], { NEXTAUTH_NS_ROOT_API_KEY: rootKey });

  it('sets colours, app link and recovery-code policy, shows them, and --no-* clears', async () => {
    const r = await run([
      'update',
      'acme',
      '--accent-light',
      '#0b5d1e',
      '--accent-dark',
      '#7ee0a0',
      '--app-link',
      'https://app.example.com/login',
      '--recovery-codes',
      'on',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({
      accentLight: '#0b5d1e',
      accentDark: '#7ee0a0',
      appLink: 'https://app.example.com/login',
      recoveryCodes: true,
    });
    const shown = await run(['show', 'acme']);
    expect(shown.stdout).to.contain('#0b5d1e light, #7ee0a0 dark');
    expect(shown.stdout).to.contain('recovery codes  on');
    const cleared = await run(['update', 'acme', '--no-accent-light', '--no-app-link', '--json']);
    expect(cleared.code, cleared.stderr).to.equal(0);
    expect(JSON.parse(cleared.stdout)).to.include({
      accentLight: null,
      accentDark: '#7ee0a0',
      appLink: null,
    });
  });

  it('refuses a low-contrast colour, an http app link and a bad on/off with one line, changing nothing', async () => {
    const before = await managedState(h);
    const low = await run(['update', 'acme', '--accent-light', '#ffff00']);
    expect(low.code).to.not.equal(0);
    expect(low.stderr.trim().split('\n')).to.have.length(1);
    expect(low.stderr).to.match(/400.*accentLight.*contrast/);
    const http = await run(['update', 'acme', '--app-link', 'http://app.example.com/']);
    expect(http.code).to.not.equal(0);
    expect(http.stderr).to.match(/appLink.*https/);
    const onOff = await run(['update', 'acme', '--recovery-codes', 'maybe']);
    expect(onOff.code).to.not.equal(0);
    expect(onOff.stderr).to.contain('expected on or off');
    expect(await managedState(h)).to.deep.equal(before);
  });
});
