import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { configTableMarkdown } from '../../auth-server/common/config/index.js';

const readme = () => readFile(new URL('../../README.md', import.meta.url), 'utf8');

/** Table rows as trimmed cells, so the formatter's column padding does not matter. */
function tableRows(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .split('|')
        .map((c) => c.trim())
        .map((c) => (/^-+$/.test(c) ? '---' : c))
        .join('|'),
    );
}

describe('docs: README', () => {
  it('shows the two set-up commands', async () => {
    const text = await readme();
    expect(text).to.contain('npm install && npm start');
    expect(text).to.contain('npm test');
  });

  it('carries the configuration table generated from the schema (`nextauth config --markdown`)', async () => {
    const rows = tableRows(await readme());
    for (const row of tableRows(configTableMarkdown())) expect(rows).to.include(row);
  });
});
