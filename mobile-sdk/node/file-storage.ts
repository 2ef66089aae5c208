// Node Storage port: one small JSON document per key in `<home>/storage/<key>.json`, mode 0600, atomic writes.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue, Storage } from '../core/ports.js';
import { writeFileAtomic } from './atomic-file.js';

/** Keys become file names, so no separators, no leading dot. */
export const STORAGE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Documents are small (accounts, history, a configuration); a larger one is a bug, not data. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: 'invalid_key' | 'too_large' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One file per key, so writes to different documents never conflict; writes to the same document are
 * last-writer-wins and never leave a partial file. Read-modify-write across processes needs a lock
 * (`withFileLock`) around it.
 */
export class FileStorage implements Storage {
  private readonly dir: string;

  constructor(home: string) {
    this.dir = join(home, 'storage');
  }

  async get(key: string): Promise<JsonValue | undefined> {
    const path = this.path(key);
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (raw.length > MAX_DOCUMENT_BYTES) throw new StorageError('too_large', `${path} is larger than 1 MiB`);
    try {
      return JSON.parse(raw) as JsonValue;
    } catch {
      throw new StorageError('corrupt', `${path} is not valid JSON`);
    }
  }

  async set(key: string, value: JsonValue): Promise<void> {
    const path = this.path(key);
    const raw = `${JSON.stringify(value)}\n`;
    if (Buffer.byteLength(raw) > MAX_DOCUMENT_BYTES)
      throw new StorageError('too_large', `document "${key}" is larger than 1 MiB`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, raw, 0o600);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private path(key: string): string {
    if (!STORAGE_KEY_PATTERN.test(key)) throw new StorageError('invalid_key', `invalid storage key "${key}"`);
    return join(this.dir, `${key}.json`);
  }
}
