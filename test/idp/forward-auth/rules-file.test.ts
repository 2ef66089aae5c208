import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { ConfigError } from '../../../auth-server/common/config/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import { loadRulesFile } from '../../../idp/forward-auth/rules-file.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format: 'json', destination }) };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  return check();
};

describe('forward-auth rules file (NEXTAUTH_FORWARD_AUTH_RULES)', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextauth-fa-rules-'));
    file = join(dir, 'rules.yaml');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a bad file stops start-up with one line naming the variable, file, rule and field', async () => {
    await writeFile(file, 'rules:\n  - host: a.example.com\n  - groups: admins\n');
    const { logger } = capture();
    expect(() => loadRulesFile(file, { logger, watch: false }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.equals(
        `NEXTAUTH_FORWARD_AUTH_RULES: ${file}: rule 1.groups: Invalid input: expected array, received string`,
      );
  });

  it('a missing file stops start-up', () => {
    const { logger } = capture();
    expect(() => loadRulesFile(join(dir, 'nope.yaml'), { logger, watch: false })).to.throw(/ENOENT/);
  });

  it('reloads on change; a bad edit keeps the old rules and logs an error', async () => {
    await writeFile(file, 'rules:\n  - policy: deny\n');
    const { lines, logger } = capture();
    const source = loadRulesFile(file, { logger });
    try {
      expect(source.current().rules[0]?.policy.kind).to.equal('deny');
      await writeFile(file, 'rules:\n  - groups: [admins]\n');
      expect(await until(() => source.current().rules[0]?.policy.kind === 'authenticated')).to.equal(true);
      // An editor's atomic save: write elsewhere, rename over the file.
      await writeFile(join(dir, 'tmp'), 'rules:\n  - policy: deny\n  - policy: deny\n');
      await rename(join(dir, 'tmp'), file);
      expect(await until(() => source.current().rules.length === 2)).to.equal(true);
      await writeFile(file, 'rules:\n  - recent-auth: soon\n');
      expect(
        await until(() =>
          lines.some((l) => l.msg === 'forward-auth rules not reloaded, keeping the old ones'),
        ),
      ).to.equal(true);
      expect(source.current().rules).to.have.length(2);
      const error = lines.find((l) => l.level === 50);
      expect(error?.problem).to.match(/rule 0\.recent-auth: expected a duration/);
    } finally {
      source.close();
    }
  });
});
