// oidc-provider looks up a presented token under every model it could be (introspection and revocation ask
// for AccessToken, ClientCredentials and RefreshToken at once), and under load many requests look up rows
// at the same moment. Each knex query costs more in query building, pool and driver round trip than in the
// database, so the finds issued in one turn of the event loop go out as one query (the DataLoader pattern).
// Reading several rows in one statement sees them as of one instant, as separate reads issued together could.

export interface BatchKey {
  model: string;
  id: string;
}

/** Rows are matched back to their keys by `model` and `id`. */
export type BatchLoad<Row extends BatchKey> = (keys: readonly BatchKey[]) => Promise<readonly Row[]>;

/** More keys than this go out as several queries (bound parameters per statement stay small). */
export const maxBatchKeys = 100;

export interface FindBatcher<Row extends BatchKey> {
  find(model: string, id: string): Promise<Row | undefined>;
}

type Waiter<Row> = { resolve(row: Row | undefined): void; reject(err: unknown): void };

export function createFindBatcher<Row extends BatchKey>(load: BatchLoad<Row>): FindBatcher<Row> {
  // model + NUL + id: ids and model names never hold NUL.
  let pending = new Map<string, { key: BatchKey; waiters: Waiter<Row>[] }>();
  let scheduled = false;

  const flushChunk = async (chunk: { key: BatchKey; waiters: Waiter<Row>[] }[]) => {
    try {
      const rows = await load(chunk.map((entry) => entry.key));
      const byKey = new Map(rows.map((row) => [`${row.model}\0${row.id}`, row]));
      for (const { key, waiters } of chunk) {
        const row = byKey.get(`${key.model}\0${key.id}`);
        for (const waiter of waiters) waiter.resolve(row);
      }
    } catch (err) {
      for (const { waiters } of chunk) for (const waiter of waiters) waiter.reject(err);
    }
  };

  const flush = () => {
    scheduled = false;
    const entries = [...pending.values()];
    pending = new Map();
    for (let i = 0; i < entries.length; i += maxBatchKeys)
      void flushChunk(entries.slice(i, i + maxBatchKeys));
  };

  return {
    find(model, id) {
      return new Promise<Row | undefined>((resolve, reject) => {
        const mapKey = `${model}\0${id}`;
        const entry = pending.get(mapKey);
        if (entry) entry.waiters.push({ resolve, reject });
        else pending.set(mapKey, { key: { model, id }, waiters: [{ resolve, reject }] });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
