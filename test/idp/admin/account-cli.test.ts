// `nextauth account list|show|block|unblock|set|delete` as real child processes against a running NS REST
// API: filters and paging (--all), --json everywhere, idempotent block, delete one or all of a user's (with
// --yes), one clear line on failure with nothing changed.
import { expect } from 'chai';
import { publisherJwk } from '../../auth-server/ns/api/fixtures-admin.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth account list|show|block|unblock|set|delete', function () {
  this.timeout(120_000);
  let h: Harness;
  let seq = 0;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const run = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['account', ...args, '--url', h.url], env);
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
  const enrolled = async (userid: string, server = 'acme') => {
    seq++;
    const id = `cli-acc-${String(seq).padStart(3, '0')}`;
    h.clock.advance(1);
    await h.knex('ns_accounts').insert({
      id,
      server_id: (await h.servers.getByName(server)).id,
      userid,
      public_jwk: JSON.stringify(publisherJwk()),
      key_thumbprint: id.padEnd(43, 't'),
      app_instance_id: `inst-${id}`,
      sfs_issuer: 'http://127.0.0.1:3000/sfs',
      description: 'Pixel 9',
      created_at: h.clock.now(),
    });
    return id;
  };
  const accounts = async () => h.knex('ns_accounts').select('*').orderBy('id');

  it('list filters by --user and --blocked and pages with --all; show, block, unblock', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await enrolled(i < 3 ? 'alice' : 'bob'));
    const [first, second] = made as [string, string];
    const blocked = await run(['block', second, '--server', 'acme', '--json']);
    expect(blocked.code, blocked.stderr).to.equal(0);
    expect(json(blocked.stdout).blockedAt).to.be.a('string');
    // Idempotent: blocking again succeeds and changes nothing.
    const again = await run(['block', second, '--server', 'acme', '--json']);
    expect(json(again.stdout).blockedAt).to.equal(json(blocked.stdout).blockedAt);

    const page = await run(['list', '--server', 'acme', '--limit', '2']);
    expect(page.code, page.stderr).to.equal(0);
    expect(
      page.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).to.deep.equal([first, second]);
    expect(page.stdout).to.contain(`${second}\talice\tblocked\tPixel 9\t-`);
    expect(page.stderr).to.match(/^more: --marker \S+ \(or --all\)/);
    const everything = await run(['list', '--server', 'acme', '--limit', '2', '--all', '--json']);
    const listed = json(everything.stdout) as { accounts: { id: string }[]; next_marker: unknown };
    expect(listed.accounts.map((a) => a.id)).to.deep.equal(made);
    expect(listed.next_marker).to.equal(null);
    const bobs = json((await run(['list', '--server', 'acme', '--user', 'bob', '--json'])).stdout);
    expect((bobs.accounts as { id: string }[]).map((a) => a.id)).to.deep.equal(made.slice(3));
    const onlyBlocked = json((await run(['list', '--server', 'acme', '--blocked', '--json'])).stdout);
    expect((onlyBlocked.accounts as { id: string }[]).map((a) => a.id)).to.deep.equal([second]);

    const shown = await run(['show', second, '--server', 'acme']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(
      new RegExp(`^${second} \\(acme\\)\\n {2}userid {7}alice\\n {2}state {8}blocked since `),
    );
    const unblocked = await run(['unblock', second, '--server', 'acme', '--json']);
    expect(json(unblocked.stdout).blockedAt).to.equal(null);
    const { events } = await h.audit.query({ subject: { kind: 'account', id: second } });
    expect(events.map((e) => e.type).sort()).to.deep.equal(['account.blocked', 'account.unblocked']);
  });

  it('set moves an account to another userid and changes or removes its description', async () => {
    const id = await enrolled('carol');
    const moved = await run([
      'set',
      id,
      '--server',
      'acme',
      '--user',
      'carol@example.com',
      '--description',
      'Work',
      '--json',
    ]);
    expect(moved.code, moved.stderr).to.equal(0);
    expect(json(moved.stdout)).to.deep.include({ userid: 'carol@example.com', description: 'Work' });
    const cleared = await run(['set', id, '--server', 'acme', '--no-description', '--json']);
    expect(json(cleared.stdout).description).to.equal(null);
  });

  it("delete needs --yes; deletes one account, or with --user all of a user's", async () => {
    const one = await enrolled('dave');
    await enrolled('dave');
    await enrolled('dave');
    const keep = await enrolled('dave', 'other');
    expect((await run(['delete', one, '--server', 'acme'])).code).to.not.equal(0);
    expect(await h.knex('ns_accounts').where({ id: one })).to.have.length(1);
    const single = await run(['delete', one, '--server', 'acme', '--yes', '--json']);
    expect(single.code, single.stderr).to.equal(0);
    expect(json(single.stdout)).to.deep.include({ id: one, userid: 'dave' });
    const all = await run(['delete', '--user', 'dave', '--server', 'acme', '--yes']);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.equal('deleted 2 account(s) of dave\n');
    const none = await run(['delete', '--user', 'dave', '--server', 'acme', '--yes', '--json']);
    expect(json(none.stdout)).to.deep.equal({ userid: 'dave', accountsDeleted: 0 });
    expect(await h.knex('ns_accounts').where({ userid: 'dave' }).pluck('id')).to.deep.equal([keep]);
  });

  it('fails with one clear line and changes nothing', async () => {
    const id = await enrolled('erin');
    const before = await accounts();
    const cases = [
      [await run(['show', 'nope', '--server', 'acme']), /^nextauth: account show refused: 404/],
      [await run(['block', id, '--server', 'other']), /^nextauth: account block refused: 404/],
      [await run(['list', '--server', 'nope']), /^nextauth: account list refused: 404/],
      [
        await run(['list', '--server', 'acme', '--limit', '0']),
        /^nextauth: account list refused: 400 .*limit/,
      ],
      [
        await run(['list', '--server', 'acme', '--marker', 'bogus']),
        /^nextauth: account list refused: 400 .*marker/,
      ],
      [
        await run(['set', id, '--server', 'acme', '--description', 'x'.repeat(101)]),
        /^nextauth: account set refused: 400 .*description/,
      ],
      [await run(['set', id, '--server', 'acme']), /^nextauth: account set: give --user/],
      [
        await run(['delete', id, '--user', 'erin', '--server', 'acme', '--yes']),
        /either an account id or --user/,
      ],
      [
        await run(['unblock', id, '--server', 'acme'], {
          NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef',
        }),
        /^nextauth: account unblock refused: 401 .*wrong API key/,
      ],
    ] as const;
    for (const [r, pattern] of cases) {
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(pattern);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    }
    expect(await accounts()).to.deep.equal(before);
  });

  it('is listed in --help', async () => {
    const r = await runCli(cli, ['--help']);
    expect(r.stdout).to.contain('account');
    const sub = await runCli(cli, ['account', '--help']);
    expect(sub.code).to.equal(0);
    for (const c of ['list', 'show', 'block', 'unblock', 'set', 'delete']) expect(sub.stdout).to.contain(c);
  });
});
