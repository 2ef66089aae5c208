// Issue #9 asks for `@xmldom/xmldom` and `xml-crypto` at versions without known advisories. The floors are
// the first releases past the advisories published for each line (docs/saml.md, "Dependencies"); one copy
// of each, so no other package brings an older parser or signer in beside samlify's.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';

const root = new URL('../../../node_modules/', import.meta.url).pathname;

/** Every installed copy of `name` (nested node_modules included), as versions. */
async function installed(name: string, dir = root): Promise<string[]> {
  const found: string[] = [];
  const own = await readFile(join(dir, name, 'package.json'), 'utf8').catch(() => undefined);
  if (own) found.push((JSON.parse(own) as { version: string }).version);
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name === '.bin') continue;
    const packages = entry.name.startsWith('@')
      ? (await readdir(join(dir, entry.name))).map((n) => join(dir, entry.name, n))
      : [join(dir, entry.name)];
    for (const pkg of packages) found.push(...(await installed(name, join(pkg, 'node_modules'))));
  }
  return found;
}

const parts = (v: string) => v.split('-')[0]?.split('.').map(Number) ?? [];
const atLeast = (v: string, floor: string) => {
  const [a, b] = [parts(v), parts(floor)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};

describe('idp/saml: XML dependencies without known advisories', function () {
  this.timeout(30_000);

  it('one copy of @xmldom/xmldom, at 0.8.15 or later', async () => {
    const versions = await installed('@xmldom/xmldom');
    expect(versions).to.have.length(1);
    expect(atLeast(versions[0] ?? '0', '0.8.15'), versions[0]).to.equal(true);
  });

  it('one copy of xml-crypto, at 6.1.0 or later', async () => {
    const versions = await installed('xml-crypto');
    expect(versions).to.have.length(1);
    expect(atLeast(versions[0] ?? '0', '6.1.0'), versions[0]).to.equal(true);
  });

  it('compares versions numerically', () => {
    expect(atLeast('0.8.15', '0.8.15')).to.equal(true);
    expect(atLeast('0.8.9', '0.8.15')).to.equal(false);
    expect(atLeast('0.9.0', '0.8.15')).to.equal(true);
    expect(atLeast('6.0.9', '6.1.0')).to.equal(false);
  });
});
