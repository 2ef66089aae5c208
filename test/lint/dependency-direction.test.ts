// The lint rule that keeps DESIGN.md §3's dependency direction: checked on fixture files laid out like the
// project and linted with the project's own biome.json.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

interface Diagnostic {
  category: string;
  location: { path: string };
}

async function lint(files: Record<string, string>): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'nextauth-lint-'));
  try {
    const config = JSON.parse(await readFile(join(root, 'biome.json'), 'utf8')) as Record<string, unknown>;
    delete config.$schema;
    delete config.vcs;
    await writeFile(join(dir, 'biome.json'), JSON.stringify(config));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    const out = await run(
      join(root, 'node_modules/.bin/biome'),
      ['lint', '--reporter=json', '--max-diagnostics=200', '.'],
      {
        cwd: dir,
      },
    ).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    const report = JSON.parse(out.stdout) as { diagnostics: Diagnostic[] };
    const counts: Record<string, number> = {};
    for (const d of report.diagnostics) {
      if (d.category !== 'lint/style/noRestrictedImports') continue;
      const path = d.location.path.replace(/^\.\//, '');
      counts[path] = (counts[path] ?? 0) + 1;
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('lint: dependency direction (DESIGN.md §3)', function () {
  this.timeout(30_000);

  it('flags forbidden imports and allows the permitted ones', async () => {
    const counts = await lint({
      'protocol/bad.ts':
        "import { a } from '../auth-server/common/x.js';\nimport { b } from '../mobile-sdk/core/y.js';\nimport { c } from 'node:crypto';\nexport const z = [a, b, c];\n",
      'protocol/good.ts':
        "import { a } from './bad.js';\nimport { z } from 'zod';\nexport const y = [a, z];\n",
      'mobile-sdk/core/bad.ts':
        "import { a } from '../../idp/x.js';\nimport { b } from '../node/store.js';\nimport { c } from 'node:fs';\nexport const z = [a, b, c];\n",
      'mobile-sdk/core/good.ts': "import { a } from '../../protocol/good.js';\nexport const y = a;\n",
      'mobile-sdk/node/bad.ts': "import { a } from '../../auth-server/ns/x.js';\nexport const z = a;\n",
      'mobile-sdk/node/good.ts':
        "import { a } from '../core/good.js';\nimport { b } from 'node:fs';\nexport const y = [a, b];\n",
      'auth-server/ns/bad.ts': "import { a } from '../../idp/oidc/x.js';\nexport const z = a;\n",
      'auth-server/ns/good.ts':
        "import { a } from '../../protocol/good.js';\nimport { m } from '../../migrations/idp/index.js';\nexport const y = [a, m];\n",
      'idp/oidc/good.ts': "import { a } from '../../auth-server/ns/good.js';\nexport const y = a;\n",
    });
    expect(counts).to.deep.equal({
      'protocol/bad.ts': 3,
      'mobile-sdk/core/bad.ts': 3,
      'mobile-sdk/node/bad.ts': 1,
      'auth-server/ns/bad.ts': 1,
    });
  });
});
