// Keyset paging markers: the last row's sort key as opaque base64url JSON, checked against a zod schema on the
// way back in, so a client can hand back only what a page gave it (users, accounts).
import type { z } from 'zod';

/** A marker that is not one this list issued (malformed, tampered, or of another sort). */
export class InvalidMarkerError extends Error {
  override name = 'InvalidMarkerError';
}

export interface MarkerCodec<T> {
  /** Longest marker `decode` reads; longer ones are refused unread. */
  maxLength: number;
  encode(position: T): string;
  /** Throws InvalidMarkerError. */
  decode(marker: string): T;
}

/** A codec for positions of shape `schema` (give it a version member so the format can change). */
export function markerCodec<S extends z.ZodType>(schema: S, maxLength: number): MarkerCodec<z.output<S>> {
  return {
    maxLength,
    encode: (position) => Buffer.from(JSON.stringify(position), 'utf8').toString('base64url'),
    decode(marker) {
      if (marker.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(marker))
        throw new InvalidMarkerError('The marker is not valid');
      const parsed = (() => {
        try {
          return schema.safeParse(JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')));
        } catch {
          return undefined;
        }
      })();
      if (!parsed?.success) throw new InvalidMarkerError('The marker is not valid');
      return parsed.data;
    },
  };
}
