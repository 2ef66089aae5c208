// Paging markers of the account list: the last account's (created, id) position (common/paging).
import { z } from 'zod';
import { markerCodec } from '../../common/paging/marker.js';

export interface AccountCursor {
  createdAt: number;
  id: string;
}

export const maxAccountMarkerLength = 128;

const codec = markerCodec(
  z.strictObject({
    v: z.literal(1),
    t: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    i: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
  }),
  maxAccountMarkerLength,
);

export const encodeAccountMarker = (cursor: AccountCursor): string =>
  codec.encode({ v: 1, t: cursor.createdAt, i: cursor.id });

/** Throws InvalidMarkerError. */
export function decodeAccountMarker(marker: string): AccountCursor {
  const { t, i } = codec.decode(marker);
  return { createdAt: t, id: i };
}
