// What the IdP's two key rings (OIDC signing keys, SAML keys) share: each key row sits in the `current` or
// `next` slot or is retired (slot null, `retired_at` set), and a ring is published current first, then
// next, then retired keys newest first. The version names a ring's membership and slots so that instances
// can tell cheaply whether another one rotated.
import { createHash } from 'node:crypto';
import { fromDbMillisOrNull } from '../auth-server/common/db/timestamps.js';

export interface RingRow {
  kid: string;
  slot: string | null;
  activated_at: unknown;
  retired_at: unknown;
}

export type RingState = 'current' | 'next' | 'retired';

export const ringStateOf = (row: RingRow): RingState =>
  row.slot === 'current' || row.slot === 'next' ? row.slot : 'retired';

const rank = (row: RingRow) => (row.slot === 'current' ? 0 : row.slot === 'next' ? 1 : 2);

/** Sorts in publishing order; `kindOrder` ranks rows of one slot (by algorithm, by use). */
export function sortRing<R extends RingRow>(rows: R[], kindOrder: (row: R) => number): R[] {
  return rows.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      kindOrder(a) - kindOrder(b) ||
      (fromDbMillisOrNull(b.retired_at) ?? 0) - (fromDbMillisOrNull(a.retired_at) ?? 0),
  );
}

export const ringVersion = (rows: RingRow[]): string =>
  createHash('sha256')
    .update(rows.map((r) => `${r.kid}:${r.slot ?? 'retired'}`).join(','))
    .digest('base64url')
    .slice(0, 22);

export const dateOrNull = (value: unknown): Date | null => {
  const ms = fromDbMillisOrNull(value);
  return ms === null ? null : new Date(ms);
};
