// `nextauth user set|show|list|delete` as real child processes against a running NS REST API: merge and
// replace, attributes and groups, filters and paging (--all), one clear line on failure with nothing changed.
import { expect } from 'chai';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli } from '../../helpers/cli.js';

const cli = 'idp/admin/cli/main.ts';

describe('nextauth user set|show|list|delete', function () {
  this.timeout(180_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const run = (args: string[], env: Record<string, string> = { NEXTAUTH_NS_ROOT_API_KEY: rootKey }) =>
    runCli(cli, ['user', ...args, '--url', h.url], env);
  const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

  it('set creates and merges: --name, --email, --attr, --unset-attr, --group; --replace overwrites', async () => {
    const created = await run([
      'set',
      '--server',
      'acme',
      '--user',
      'alice',
      '--name',
      'Alice',
      '--email',
      'alice@example.com',
      '--attr',
      'dept=sales',
      '--attr',
      'note=a=b',
      '--group',
      'staff',
      '--group',
      'eu',
      '--json',
    ]);
    expect(created.code, created.stderr).to.equal(0);
    expect(json(created.stdout)).to.deep.include({ userid: 'alice', name: 'Alice', groups: ['eu', 'staff'] });
    expect(json(created.stdout).attributes).to.deep.equal({ dept: 'sales', note: 'a=b' });
    const merged = await run([
      'set',
      '--server',
      'acme',
      '--user',
      'alice',
      '--unset-attr',
      'note',
      '--no-groups',
      '--json',
    ]);
    expect(merged.code, merged.stderr).to.equal(0);
    expect(json(merged.stdout)).to.deep.include({ name: 'Alice', groups: [] });
    expect(json(merged.stdout).attributes).to.deep.equal({ dept: 'sales' });
    const replaced = await run([
      'set',
      '--server',
      'acme',
      '--user',
      'alice',
      '--name',
      'A.',
      '--replace',
      '--json',
    ]);
    expect(json(replaced.stdout)).to.deep.include({ name: 'A.', email: null, attributes: {}, groups: [] });
    const shown = await run(['show', '--server', 'acme', '--user', 'alice']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(/^alice \(acme\)\n {2}name {4}A\.\n/);
    const shownJson = await run(['show', '--server', 'acme', '--user', 'alice', '--json']);
    expect(shownJson.code, shownJson.stderr).to.equal(0);
    expect(json(shownJson.stdout)).to.deep.include({ userid: 'alice', name: 'A.', groups: [] });
  });

  it('list filters by --attr and --group and pages through everything with --all', async () => {
    for (let i = 0; i < 12; i++) {
      await h.knex('ns_users').insert({
        id: `cli-user-${i}`,
        server_id: (await h.servers.getByName('acme')).id,
        userid: `u${String(i).padStart(2, '0')}`,
        name: i % 2 ? 'Odd' : 'Even',
        email: null,
        created_at: h.clock.now(),
        updated_at: h.clock.now(),
      });
    }
    const page = await run(['list', '--server', 'acme', '--limit', '5']);
    expect(page.code, page.stderr).to.equal(0);
    expect(page.stdout.trim().split('\n')).to.have.length(5);
    // Columns are tab-separated (each column escaped on its own, the tabs between them kept).
    expect(page.stdout.split('\n')[0]).to.equal('alice\tA.\t-\t-');
    expect(page.stderr).to.match(/^more: --marker \S+ \(or --all\)\n$/);
    const all = await run(['list', '--server', 'acme', '--limit', '5', '--all', '--json']);
    const users = (json(all.stdout).users as { userid: string }[]).map((u) => u.userid);
    expect(users).to.have.length(13);
    expect(json(all.stdout).next_marker).to.equal(null);
    const odd = await run(['list', '--server', 'acme', '--attr', 'name=Odd', '--q', 'u0', '--json']);
    expect((json(odd.stdout).users as { userid: string }[]).map((u) => u.userid)).to.deep.equal([
      'u01',
      'u03',
      'u05',
      'u07',
      'u09',
    ]);
    // One --group is `group=g`; several are `group=in:a,b` (members of any).
    for (const [userid, group] of [
      ['u00', 'ops'],
      ['u01', 'dev'],
      ['u02', 'ops'],
    ] as const) {
      expect((await run(['set', '--server', 'acme', '--user', userid, '--group', group])).code).to.equal(0);
    }
    const ops = await run(['list', '--server', 'acme', '--group', 'ops', '--json']);
    expect(ops.code, ops.stderr).to.equal(0);
    expect((json(ops.stdout).users as { userid: string }[]).map((u) => u.userid)).to.deep.equal([
      'u00',
      'u02',
    ]);
    const either = await run(['list', '--server', 'acme', '--group', 'ops', '--group', 'dev', '--json']);
    expect((json(either.stdout).users as { userid: string }[]).map((u) => u.userid)).to.deep.equal([
      'u00',
      'u01',
      'u02',
    ]);
  });

  it('delete needs --yes and reports the accounts deleted with the user', async () => {
    expect((await run(['delete', '--server', 'acme', '--user', 'alice'])).code).to.not.equal(0);
    const r = await run(['delete', '--server', 'acme', '--user', 'alice', '--yes', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(json(r.stdout)).to.deep.equal({ userid: 'alice', accountsDeleted: 0 });
  });

  it('fails with one clear line and changes nothing', async () => {
    const before = await h.knex('ns_users').select('*').orderBy('id');
    // Independent refusals, run side by side: each is a whole CLI process start.
    const cases = await Promise.all(
      (
        [
          [
            ['set', '--server', 'acme', '--user', 'bob', '--email', 'nope'],
            /^nextauth: user set refused: 400 .*email:/,
          ],
          [
            ['set', '--server', 'acme', '--user', 'bob', '--attr', 'novalue'],
            /^nextauth: --attr novalue: expected NAME=VALUE/,
          ],
          [
            ['set', '--server', 'acme', '--user', 'bob', '--attr', 'sub=x'],
            /^nextauth: user set refused: 400 .*attributes\.sub/,
          ],
          [['show', '--server', 'acme', '--user', 'nobody'], /^nextauth: user show refused: 404/],
          [['list', '--server', 'nope'], /^nextauth: user list refused: 404/],
          [['list', '--server', 'acme', '--limit', '0'], /^nextauth: user list refused: 400 .*limit/],
          [
            ['list', '--server', 'acme'],
            /^nextauth: user list refused: 401 .*wrong API key/,
            { NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef' },
          ],
        ] as const
      ).map(async ([args, pattern, env]) => [await run([...args], env), pattern] as const),
    );
    for (const [r, pattern] of cases) {
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(pattern);
    }
    expect(await h.knex('ns_users').select('*').orderBy('id')).to.deep.equal(before);
  });

  it('is listed in --help next to enrol-link', async () => {
    const r = await runCli(cli, ['user', '--help']);
    expect(r.code).to.equal(0);
    for (const c of ['enrol-link', 'list', 'show', 'set', 'delete']) expect(r.stdout).to.contain(c);
  });
});
