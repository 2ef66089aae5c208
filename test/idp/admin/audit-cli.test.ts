// `nextauth audit tail|export` as real child processes against a running NS REST API: newest events oldest
// first, --json, filters, --follow picking up new events, the JSON-lines export, and one clear line for
// every failure (wrong key, bad parameter, nothing listening, an export cut off midway).
import { expect } from 'chai';
import type { NewAuditEvent } from '../../../auth-server/ns/audit/model.js';
import { startFailingAuditApi } from '../../auth-server/ns/api/audit-stub.js';
import { type Harness, rootKey, startHarness } from '../../auth-server/ns/api/harness.js';
import { runCli, spawnCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/http.js';

const cli = 'idp/admin/cli/main.ts';
const env = { NEXTAUTH_NS_ROOT_API_KEY: rootKey };

describe('nextauth audit', function () {
  // Each case spawns the CLI (tsx compiles on start): generous on a loaded 2-core machine.
  this.timeout(180_000);
  let h: Harness;
  let acme: { id: string; name: string };
  let other: { id: string; name: string };
  const recorded: string[] = [];

  const record = async (overrides: Partial<NewAuditEvent> = {}) => {
    const e = await h.audit.record({
      type: 'session.login',
      server: acme,
      actor: { kind: 'account', id: 'acct-1' },
      subject: { kind: 'user', id: 'alice' },
      ip: '198.51.100.7',
      details: { n: recorded.length },
      ...overrides,
    });
    h.clock.advance(1000);
    recorded.push(e.id);
    return e;
  };

  before(async () => {
    h = await startHarness();
    const a = await h.servers.getByName('acme');
    const o = await h.servers.getByName('other');
    acme = { id: a.id, name: a.name };
    other = { id: o.id, name: o.name };
    for (let i = 0; i < 12; i++) await record();
    await record({ type: 'session.declined', server: other, details: { reason: 'not_me' } });
    // A hostile userid must not reach a terminal as escape sequences.
    await record({ type: 'session.declined', subject: { kind: 'user', id: 'eve\u001b[2J' } });
  });
  after(() => h.close());

  const audit = (args: string[], extraEnv: Record<string, string> = env) =>
    runCli(cli, ['audit', ...args, '--url', h.url], extraEnv);
  const jsonLines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; type: string; server: string; subject: { id: string } });

  describe('tail', () => {
    it('prints the 10 newest events oldest first, one readable line each, control characters escaped', async () => {
      const r = await audit(['tail']);
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).to.have.length(10);
      expect(lines[0]).to.match(
        /^2026-03-01T12:00:04\.000Z {2}session\.login {2}acme {2}account:acct-1 -> user:alice {2}198\.51\.100\.7 {2}n=4$/,
      );
      expect(lines[9]).to.contain('user:eve\\u001b[2J');
      expect(r.stdout).to.not.contain('\u001b');
    });

    it('--json --limit 3: the three newest as JSON lines, oldest first', async () => {
      const r = await audit(['tail', '--json', '--limit', '3']);
      expect(r.code, r.stderr).to.equal(0);
      expect(jsonLines(r.stdout).map((e) => e.id)).to.deep.equal(recorded.slice(-3));
    });

    it('filters: --server, --type, --subject, --since', async () => {
      const byServer = await audit(['tail', '--json', '--server', 'other']);
      expect(jsonLines(byServer.stdout).map((e) => e.server)).to.deep.equal(['other']);
      const byType = await audit(['tail', '--json', '--type', 'session.declined']);
      expect(jsonLines(byType.stdout)).to.have.length(2);
      const bySubject = await audit(['tail', '--json', '--subject', 'user:alice', '--limit', '100']);
      expect(jsonLines(bySubject.stdout)).to.have.length(13);
      const since = await audit(['tail', '--json', '--since', '2026-03-01T12:00:11Z']);
      expect(jsonLines(since.stdout).map((e) => e.id)).to.deep.equal(recorded.slice(11));
    });

    it('--follow prints new events as they are recorded, each once', async () => {
      const child = spawnCli(
        cli,
        ['audit', 'tail', '--follow', '--json', '--limit', '2', '--interval', '0.1', '--url', h.url],
        env,
      );
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const waitForLines = async (n: number) => {
        const deadline = Date.now() + 15_000;
        while (jsonLines(out).length < n) {
          if (Date.now() > deadline) throw new Error(`only ${jsonLines(out).length} lines: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      try {
        await waitForLines(2);
        const next = [await record({ details: { follow: 1 } }), await record({ details: { follow: 2 } })];
        await waitForLines(4);
        // A few more polls must not repeat anything.
        await new Promise((r) => setTimeout(r, 400));
        const ids = jsonLines(out).map((e) => e.id);
        expect(ids).to.deep.equal([...recorded.slice(-4, -2), ...next.map((e) => e.id)]);
      } finally {
        child.kill('SIGTERM');
      }
    });

    it('fails with one clear line: wrong key, bad parameter, bad --limit, nothing listening', async () => {
      const wrong = await audit(['tail'], { NEXTAUTH_NS_ROOT_API_KEY: 'wrong-key-0123456789abcdef' });
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.match(/^nextauth: audit log refused: 401 .*wrong API key/);
      const since = await audit(['tail', '--since', 'yesterday']);
      expect(since.code).to.equal(1);
      expect(since.stderr).to.match(/^nextauth: audit log refused: 400 Invalid query parameters \(since: /);
      const type = await audit(['tail', '--type', 'session.hacked']);
      expect(type.code).to.equal(1);
      expect(type.stderr).to.contain('unknown event type "session.hacked"');
      const limit = await audit(['tail', '--limit', '0']);
      expect(limit.code).to.equal(1);
      expect(limit.stderr).to.contain('expected a whole number from 1 to 1000');
      const down = await runCli(cli, ['audit', 'tail', '--url', `http://127.0.0.1:${await freePort()}`], env);
      expect(down.code).to.equal(1);
      expect(down.stderr).to.match(/^nextauth: cannot reach http:\/\/127\.0\.0\.1:\d+ .*--url/);
      for (const r of [wrong, since, type, down]) {
        expect(r.stdout).to.equal('');
        expect(r.stderr.trim().split('\n')).to.have.length(1);
      }
    });
  });

  describe('export', () => {
    it('writes every event as JSON lines, oldest first; filters apply', async () => {
      const r = await audit(['export']);
      expect(r.code, r.stderr).to.equal(0);
      expect(jsonLines(r.stdout).map((e) => e.id)).to.deep.equal(recorded);
      const declined = await audit(['export', '--type', 'session.declined', '--json']);
      expect(jsonLines(declined.stdout).map((e) => e.type)).to.deep.equal([
        'session.declined',
        'session.declined',
      ]);
      const none = await audit(['export', '--server', 'nope']);
      expect(none.code).to.equal(0);
      expect(none.stdout).to.equal('');
    });

    it('fails when the export is refused or cut off midway, saying the output is incomplete', async () => {
      const bad = await audit(['export', '--until', 'soon']);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(/^nextauth: audit log refused: 400 /);
      const api = await startFailingAuditApi('export-midway');
      try {
        const r = await runCli(cli, ['audit', 'export', '--url', api.url], env);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/^nextauth: export interrupted: .*incomplete/);
        expect(r.stdout.length).to.be.greaterThan(0);
      } finally {
        await api.close(100);
      }
    });
  });

  it('is listed in --help', async () => {
    const r = await runCli(cli, ['audit', '--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('tail').and.contain('export');
  });
});
