// Paging markers: an opaque base64url encoding of a (time, id) position and the order it was taken in.
import { z } from 'zod';
import { AuditError } from './errors.js';
import type { AuditCursor, AuditOrder } from './model.js';

const markerSchema = z.strictObject({
  v: z.literal(1),
  o: z.enum(['a', 'd']),
  t: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  i: z.string().regex(/^[0-9a-f]{32}$/),
});

/** Markers are short; anything longer is refused unread. */
export const maxMarkerLength = 256;

export function encodeMarker(cursor: AuditCursor, order: AuditOrder): string {
  const payload = { v: 1, o: order === 'asc' ? 'a' : 'd', t: cursor.time, i: cursor.id };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/** The cursor inside a marker; AuditError `invalid_marker` for anything else (or the other order's marker). */
export function decodeMarker(marker: string, order: AuditOrder): AuditCursor {
  if (marker.length > maxMarkerLength || !/^[A-Za-z0-9_-]+$/.test(marker))
    throw new AuditError('invalid_marker', 'The marker is not valid');
  let parsed: z.output<typeof markerSchema>;
  try {
    parsed = markerSchema.parse(JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')));
  } catch {
    throw new AuditError('invalid_marker', 'The marker is not valid');
  }
  if ((parsed.o === 'a') !== (order === 'asc'))
    throw new AuditError(
      'invalid_marker',
      `The marker belongs to order=${parsed.o === 'a' ? 'asc' : 'desc'}`,
    );
  return { time: parsed.t, id: parsed.i };
}
