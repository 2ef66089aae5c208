// Embedded mode must run with nothing configured, yet secrets must survive restarts: each unset secret is
// generated once and kept in a 0600 file under the data directory (production sets them explicitly).
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Random, randomToken } from '../clock.js';
import type { Config } from './load.js';

export const generatedSecretFiles = {
  nsRootApiKey: 'root-api-key',
  secretKey: 'secret-key',
  pinPepper: 'pin-pepper',
} as const;

async function loadOrCreate(path: string, random: Random): Promise<string> {
  try {
    // O_EXCL: of two processes starting at once, one writes and the other reads what it wrote.
    const handle = await open(path, 'wx', 0o600);
    try {
      const value = randomToken(random, 32);
      await handle.writeFile(`${value}\n`);
      return value;
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const value = (await readFile(path, 'utf8')).trim();
    if (value.length < 16) throw new Error(`${path} holds no usable secret; remove it to generate a new one`);
    return value;
  }
}

/** Fills every unset generated secret of `config` from (or into) the data directory. */
export async function ensureGeneratedSecrets(config: Config, random: Random): Promise<void> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  for (const [key, file] of Object.entries(generatedSecretFiles) as [
    keyof typeof generatedSecretFiles,
    string,
  ][]) {
    if (config[key] === undefined) config[key] = await loadOrCreate(join(config.dataDir, file), random);
  }
}
