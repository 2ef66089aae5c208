// The keyset-paging query parameters of NS list operations: `limit` (a page size as query text) and
// `marker` (the previous page's `next_marker`).
import { z } from 'zod';

export function pageQueryFields(maxPageSize: number, maxMarkerLength: number) {
  return {
    limit: z
      .string()
      .regex(/^\d{1,4}$/, `a whole number from 1 to ${maxPageSize}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(maxPageSize))
      .optional()
      .describe(`page size, 1–${maxPageSize}, default 100`),
    marker: z.string().min(1).max(maxMarkerLength).optional().describe('next_marker of the previous page'),
  };
}
