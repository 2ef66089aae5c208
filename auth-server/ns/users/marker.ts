// Paging markers of the user list: an opaque base64url encoding of the last row's sort key and the sort.
import { z } from 'zod';
import type { UserSort } from './model.js';

export class InvalidMarkerError extends Error {
  override name = 'InvalidMarkerError';
}

export interface UserCursor {
  userid: string;
  createdAt: number;
  id: string;
}

const markerSchema = z.strictObject({
  v: z.literal(1),
  s: z.enum(['userid', '-userid', 'createdAt', '-createdAt']),
  u: z.string().max(255),
  t: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  i: z.string().max(32),
});

/** A userid of 255 characters (4 bytes each at most) plus the rest, in base64url. */
export const maxUserMarkerLength = 1600;

export function encodeUserMarker(cursor: UserCursor, sort: UserSort): string {
  const payload = { v: 1, s: sort, u: cursor.userid, t: cursor.createdAt, i: cursor.id };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** Throws InvalidMarkerError for anything but a marker of the same sort. */
export function decodeUserMarker(marker: string, sort: UserSort): UserCursor {
  if (marker.length > maxUserMarkerLength || !/^[A-Za-z0-9_-]+$/.test(marker))
    throw new InvalidMarkerError('The marker is not valid');
  let parsed: z.output<typeof markerSchema>;
  try {
    parsed = markerSchema.parse(JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidMarkerError('The marker is not valid');
  }
  if (parsed.s !== sort) throw new InvalidMarkerError(`The marker belongs to sort=${parsed.s}`);
  return { userid: parsed.u, createdAt: parsed.t, id: parsed.i };
}
