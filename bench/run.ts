// `npm run bench [-- name ...]`: runs the named scenarios (all when none is named). Each scenario measures
// its own baseline in the same run and prints ratios against it, never a bare time.
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const available = (await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`\n== ${name} ==`);
  const mod = (await import(pathToFileURL(`${dir}${name}.ts`).href)) as { run: () => Promise<void> };
  await mod.run();
}
