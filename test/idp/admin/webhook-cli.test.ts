// `nextauth webhook create|list|delete|deliveries` as real child processes against a running NS REST API:
// the secret alone on line 1, --json, list without secrets, deliveries after a logout, delete, and one clear
// line with nothing stored for a refused URL.
import { expect } from 'chai';
import { api } from '../../auth-server/ns/api/fixtures-admin.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth webhook', function () {
  // Each case spawns the CLI (tsx compiles on start): generous on a loaded 2-core machine.
  this.timeout(180_000);
  let h: Harness;
  before(async () => {
    // The receiver is never called: deliveries are only queued here (no dispatcher runs).
    h = await startHarness({ outboundAllow: ['127.0.0.1'] });
  });
  after(() => h.close());

  const run = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['webhook', ...args, '--url', h.url], env);
  const target = 'http://127.0.0.1:9/hook';
  let id: string;

  it('create prints the secret alone on the first line', async () => {
    const r = await run(['create', target, '--server', 'acme', '--event', 'LOGIN']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });

  it('create --json gives the webhook with its secret; events repeat', async () => {
    const r = await run([
      'create',
      target,
      '--server',
      'acme',
      '--event',
      'LOGOUT',
      '--event',
      'BLOCK',
      '--description',
      'SIEM',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const created = JSON.parse(r.stdout) as {
      id: string;
      events: string[];
      secret: string;
      description: string;
    };
    expect(created.events).to.deep.equal(['LOGOUT', 'BLOCK']);
    expect(created.description).to.equal('SIEM');
    id = created.id;
  });

  it('list shows ids, events and URLs, never secrets', async () => {
    const r = await run(['list', '--server', 'acme']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`${id}\tLOGOUT,BLOCK\t${target}\t`);
    expect(r.stdout).to.not.contain('whsec_');
    const j = await run(['list', '--server', 'acme', '--json']);
    expect((JSON.parse(j.stdout) as { webhooks: unknown[] }).webhooks).to.have.length(2);
    expect(j.stdout).to.not.contain('whsec_');
  });

  it('deliveries lists what a logout queued', async () => {
    const { nonce } = await h.sessions.createSession({ server: 'acme', userAgent: 'ua', ip: '192.0.2.1' });
    expect((await api(h)('POST', 'logout', rootKey, undefined, { 'x-nonce': nonce })).status).to.equal(200);
    const r = await run(['deliveries', id, '--server', 'acme', '--state', 'pending']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^[0-9a-f]{32}\tLOGOUT\tpending\t0 attempt\(s\)\t-\t/);
    const j = await run(['deliveries', id, '--server', 'acme', '--json', '--limit', '5']);
    expect((JSON.parse(j.stdout) as { deliveries: unknown[] }).deliveries).to.have.length(1);
  });

  it('delete removes it', async () => {
    const r = await run(['delete', id, '--server', 'acme', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ deleted: id });
    expect((await run(['list', '--server', 'acme'])).stdout).to.not.contain(id);
  });

  it('fails with one clear line and stores nothing', async () => {
    const count = async () => Number((await h.knex('ns_webhooks').count({ n: '*' }))[0]?.n);
    const before = await count();
    const cases = [
      [await run(['create', 'http://10.1.2.3/hook', '--server', 'acme', '--event', 'LOGIN']), /refused: 400/],
      [
        await run(['create', target, '--server', 'acme', '--event', 'CONFIRMSCAN']),
        /argument 'CONFIRMSCAN' is invalid/,
      ],
      [await run(['create', target, '--server', 'acme']), /required option '--event <type>' not specified/],
      [await run(['delete', id, '--server', 'acme']), /webhook delete refused: 404/],
      [await run(['deliveries', id, '--server', 'acme', '--state', 'done']), /argument 'done' is invalid/],
    ] as const;
    for (const [r, pattern] of cases) {
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(pattern);
    }
    expect(await count()).to.equal(before);
  });
});
