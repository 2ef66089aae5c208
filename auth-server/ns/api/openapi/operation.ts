// One NS REST operation as data: path, roles and the zod schemas its route validates with — the single
// source from which the route reads its input and the OpenAPI document is generated.
import type { z } from 'zod';
import type { ApiRole } from '../../apikeys/model.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiResponseSpec {
  description: string;
  /** JSON body; absent for 204 or non-JSON bodies. */
  schema?: z.ZodType;
  /** Default `application/json` when a schema is given; alone, a non-JSON body such as `image/png`. */
  contentType?: string;
}

export interface ApiOperation {
  method: HttpMethod;
  /** OpenAPI path template relative to `/ns`, e.g. `/api/v2/servers/{server}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /**
   * Who may call: `public` (no key), `rootKey` (only the configured root key), or an API key holding one of
   * `roles` (root holds every role).
   */
  access: { public: true } | { rootKey: true } | { roles: readonly ApiRole[] };
  /** The session credential header `X-nonce` is required. */
  nonce?: boolean;
  /** Path parameters (each must appear in `path`). */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** JSON request body. */
  body?: z.ZodType;
  /** Success answers by status. */
  responses: Record<number, ApiResponseSpec>;
  /** Statuses answered with problem JSON. */
  problems: readonly number[];
}

/** `/api/v2/servers/{server}` → `/api/v2/servers/:server` (@koa/router syntax). */
export function koaPath(operation: Pick<ApiOperation, 'path'>): string {
  return operation.path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}
