// Timestamps are stored as epoch milliseconds in BIGINT columns. The three databases disagree on every
// native time type (SQLite has none, MySQL TIMESTAMP ends in 2038 and converts through the session time
// zone, DATETIME drops the zone, drivers return Date, string or local time), while an integer compares,
// indexes and round-trips identically everywhere. pg returns INT8 as a string and mysql2 as a string
// beyond 2^53, so reads go through `fromDbMillis` in each row mapper rather than a process-wide pg type
// parser that would silently change every other INT8 (counts, sums) for every user of the pg module.

/** Converts a BIGINT epoch-milliseconds column value as any of the three drivers returns it. */
export function fromDbMillis(value: unknown): number {
  const ms = typeof value === 'string' ? Number(value) : typeof value === 'bigint' ? Number(value) : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
    throw new TypeError(`not an epoch-milliseconds value: ${typeof value}`);
  }
  return ms;
}

/** As fromDbMillis, keeping NULL as null. */
export function fromDbMillisOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : fromDbMillis(value);
}

export function toDbMillis(date: Date | number): number {
  return typeof date === 'number' ? date : date.getTime();
}
