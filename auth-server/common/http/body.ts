// Size-capped JSON body reading with zod validation: the cap applies before parsing (DESIGN.md §6).
import type { Context } from 'koa';
import type { z } from 'zod';
import { problems } from '../errors.js';

export const defaultBodyLimit = 64 * 1024;

export async function readRawBody(ctx: Context, limit = defaultBodyLimit): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw problems.bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.destroy();
      throw problems.bodyTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson<S extends z.ZodType>(
  ctx: Context,
  schema: S,
  limit = defaultBodyLimit,
): Promise<z.output<S>> {
  if (!ctx.is('application/json')) throw problems.unsupportedMediaType('application/json');
  const raw = await readRawBody(ctx, limit);
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8'));
  } catch {
    throw problems.badRequest('The body is not valid JSON');
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw problems.invalidBody(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return parsed.data;
}
