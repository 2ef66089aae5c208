// The `nextauth` commands' client of the running system's REST APIs: where it is (`--url`,
// NEXTAUTH_PUBLIC_URL), which key to send (the root key from the environment or the data directory), and one
// clear line for every way a call can fail.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** `--url`, else NEXTAUTH_PUBLIC_URL, else the embedded default on NEXTAUTH_PORT. */
export function apiBaseUrl(env: NodeJS.ProcessEnv, url?: string): string {
  const base = url ?? env.NEXTAUTH_PUBLIC_URL ?? `http://localhost:${env.NEXTAUTH_PORT ?? '3000'}`;
  return base.replace(/\/+$/, '');
}

/** NEXTAUTH_NS_ROOT_API_KEY (or its `_FILE`), else the 0600 file embedded mode writes into the data dir. */
export async function rootApiKey(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.NEXTAUTH_NS_ROOT_API_KEY) return env.NEXTAUTH_NS_ROOT_API_KEY;
  const path = env.NEXTAUTH_NS_ROOT_API_KEY_FILE ?? join(env.NEXTAUTH_DATA_DIR ?? './data', 'root-api-key');
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (key) return key;
  } catch {
    // Reported below with what to set instead.
  }
  throw new Error(
    `no API key: set NEXTAUTH_NS_ROOT_API_KEY, or NEXTAUTH_DATA_DIR to the data directory of the running system (${path} is missing or empty)`,
  );
}

const problemSchema = z
  .object({
    detail: z.string().optional(),
    title: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .loose();

export interface NsRequest<S extends z.ZodType | undefined> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Under the base URL, e.g. `/ns/api/v2/servers`. */
  path: string;
  body?: unknown;
  /** Shape of a successful JSON answer; undefined for answers without a body (204). */
  schema: S;
  /** What the call does, for errors: "`what` refused: 404 …". */
  what: string;
}

export interface RestClient {
  base: string;
  call<S extends z.ZodType | undefined>(
    request: NsRequest<S>,
  ): Promise<S extends z.ZodType ? z.output<S> : undefined>;
}

/** A client of the system at `--url` (or the environment's), sending the root key. */
export async function restClient(
  options: { url?: string | undefined },
  env = process.env,
): Promise<RestClient> {
  const base = apiBaseUrl(env, options.url);
  const key = await rootApiKey(env);
  return {
    base,
    async call(request) {
      let res: Response;
      try {
        res = await fetch(`${base}${request.path}`, {
          method: request.method,
          headers: {
            'x-apikey': key,
            ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        });
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
        throw new Error(`cannot reach ${base} (${cause}); is nextauth running? Use --url to point at it`);
      }
      const json: unknown = res.status === 204 ? undefined : await res.json().catch(() => undefined);
      if (!res.ok) {
        const problem = problemSchema.safeParse(json);
        const detail = problem.success ? (problem.data.detail ?? problem.data.title) : undefined;
        const fields = (problem.success ? (problem.data.errors ?? []) : [])
          .slice(0, 5)
          .map((e) => `${e.path || 'body'}: ${e.message}`);
        const field = fields.length > 0 ? ` (${fields.join('; ')})` : '';
        const hint = res.status === 401 ? ' (wrong API key?)' : '';
        throw new Error(`${request.what} refused: ${res.status} ${detail ?? res.statusText}${field}${hint}`);
      }
      if (!request.schema) return undefined as never;
      const parsed = request.schema.safeParse(json);
      if (!parsed.success)
        throw new Error(`unexpected answer from ${base} to ${request.method} ${request.path}`);
      return parsed.data as never;
    },
  };
}
