// Paging markers of the user list: the last row's sort key and the sort it was taken in (common/paging).
import { z } from 'zod';
import { InvalidMarkerError, markerCodec } from '../../common/paging/marker.js';
import type { UserSort } from './model.js';

export { InvalidMarkerError };

export interface UserCursor {
  userid: string;
  createdAt: number;
  id: string;
}

/** A userid of 255 characters (4 bytes each at most) plus the rest, in base64url. */
export const maxUserMarkerLength = 1600;

const codec = markerCodec(
  z.strictObject({
    v: z.literal(1),
    s: z.enum(['userid', '-userid', 'createdAt', '-createdAt']),
    u: z.string().max(255),
    t: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    i: z.string().max(32),
  }),
  maxUserMarkerLength,
);

export function encodeUserMarker(cursor: UserCursor, sort: UserSort): string {
  return codec.encode({ v: 1, s: sort, u: cursor.userid, t: cursor.createdAt, i: cursor.id });
}

/** Throws InvalidMarkerError for anything but a marker of the same sort. */
export function decodeUserMarker(marker: string, sort: UserSort): UserCursor {
  const parsed = codec.decode(marker);
  if (parsed.s !== sort) throw new InvalidMarkerError(`The marker belongs to sort=${parsed.s}`);
  return { userid: parsed.u, createdAt: parsed.t, id: parsed.i };
}
