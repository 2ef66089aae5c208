// Browser bundle entry: runs the shared channel cases and vector replays in the page with the browser's WebCrypto.
import { type Case, negative, roundTrip } from './cases.js';
import { vectorCases } from './vector-cases.js';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

const all: Record<string, Case> = { ...vectorCases, ...roundTrip, ...negative };
const results: Result[] = [];
const w = globalThis as unknown as { __results?: Result[]; __done?: boolean; __secure?: boolean };
w.__secure = globalThis.isSecureContext;
for (const [name, fn] of Object.entries(all)) {
  try {
    await fn();
    results.push({ name, ok: true });
  } catch (err) {
    results.push({
      name,
      ok: false,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
}
w.__results = results;
w.__done = true;
