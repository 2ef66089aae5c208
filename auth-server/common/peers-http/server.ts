// Mounts a peer implementation at `POST /{svc}/internal/v1/{method}` for the other services of a distributed
// deployment. Every call presents the service key; arguments are size-capped and validated by the method's
// schema, and the result is validated before it leaves, so a bug cannot leak a field the interface lacks.
import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpProblem, problems } from '../errors.js';
import { readJson } from '../http/body.js';
import type { Logger } from '../logging.js';
import { domainCode } from './errors.js';
import { type PeerTable, peerLimits, type RemoteKeys, serviceKeyHeader } from './table.js';

export interface PeerServerOptions<P> {
  /** `ns`, `sfs`, `mc`: the path prefix. */
  service: string;
  table: PeerTable<P>;
  implementation: P;
  /** Every key a caller may present: the service key, and during a rotation the other one. */
  acceptedKeys: readonly string[];
  logger: Logger;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time: the digests have equal length whatever was presented, and every accepted key is compared
 * (no early return), so the time does not tell which one matched.
 */
export function serviceKeyMatches(accepted: readonly string[], presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false;
  const given = digest(presented);
  let match = false;
  for (const key of accepted) match = timingSafeEqual(digest(key), given) || match;
  return match;
}

/** Statuses of domain codes that have an obvious HTTP meaning; the others are 422 (understood, refused). */
const domainStatus: Record<string, number> = { not_found: 404, conflict: 409, invalid_request: 400 };

function sendProblem(ctx: Context, status: number, code: string, detail: string | undefined): void {
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = {
    type: `https://nextauth.dev/problems/${code.replaceAll('_', '-')}`,
    title: code,
    status,
    code,
    ...(detail !== undefined ? { detail } : {}),
  };
}

export function peerRouter<P>(options: PeerServerOptions<P>): Router {
  const { service, table, implementation, acceptedKeys, logger } = options;
  const router = new Router({ prefix: `/${service}/internal/v1` });
  const methods = new Map(Object.entries(table) as [RemoteKeys<P>, PeerTable<P>[RemoteKeys<P>]][]);
  router.post('/:method', async (ctx) => {
    try {
      // The key first: an unauthenticated caller learns nothing, not even which methods exist.
      if (!serviceKeyMatches(acceptedKeys, ctx.get(serviceKeyHeader) || undefined)) {
        throw problems.unauthorized('Missing or wrong service key');
      }
      const name = ctx.params.method as RemoteKeys<P>;
      const spec = Object.hasOwn(table, name) ? methods.get(name) : undefined;
      if (!spec) throw problems.notFound(`No method ${service}.${name}`);
      const args = await readJson(ctx, spec.args, peerLimits.requestBytes);
      const fn = implementation[name] as (...a: unknown[]) => Promise<unknown>;
      const value = await fn.apply(implementation, args);
      const checked = spec.result.safeParse(value);
      if (!checked.success) {
        logger.error({ method: `${service}.${name}` }, 'peer result does not match its schema');
        throw new HttpProblem(500, 'internal');
      }
      ctx.status = 200;
      ctx.body = checked.data === undefined ? {} : { result: checked.data };
    } catch (err) {
      if (err instanceof HttpProblem) {
        if (err.status >= 500) logger.error({ err, path: ctx.path }, 'peer call failed');
        ctx.status = err.status;
        ctx.type = 'application/problem+json';
        ctx.body = err.toJSON();
        return;
      }
      const code = domainCode(err);
      if (code !== undefined) {
        sendProblem(ctx, domainStatus[code] ?? 422, code, (err as Error).message);
        return;
      }
      logger.error({ err, path: ctx.path }, 'peer call failed');
      sendProblem(ctx, 500, 'internal', undefined);
    }
  });
  return router;
}
