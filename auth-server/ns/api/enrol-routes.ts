// NS REST v2 enrol links: `POST /ns/api/v2/enrol-links` → a one-time `nextauth://enrol?d=…` URI for a userid.
import type Router from '@koa/router';
import { visualHash } from '../../../protocol/visual-hash.js';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { mayActOn } from '../apikeys/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import { enrolOperations as ops } from './operations/enrol.js';
import { mapDomainErrors } from './problems.js';
import { createRateLimiter } from './rate-limit.js';

export function registerEnrolRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { servers, accounts } = deps;
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');
  const limiter = createRateLimiter(deps.kv, deps.clock, {
    name: 'ns:api-enrol-link',
    limit: deps.limits?.apiEnrolLinksPerMinute ?? 120,
    windowMs: 60_000,
  });

  const auth = requireApiKey(deps.apiKeys);
  // Enrolling a phone creates an account for a user: either role will do.
  const role = requireRoleStep('users', 'accounts');
  router.post(koaPath(ops.create), noStore, auth, role, mapDomainErrors(), async (ctx) => {
    await limiter.hit(`${principalOf(ctx.state).keyId}:${ctx.ip}`);
    const body = await readJson(ctx, ops.create.body);
    const server = await servers.findByName(body.server);
    // A server the key may not act on reads as unknown: keys do not learn other tenants' names.
    if (!server || !mayActOn(principalOf(ctx.state), server.id)) {
      throw problems.notFound('No such virtual server');
    }
    const link = await accounts.createEnrolLink(
      {
        server: server.name,
        userid: body.userid,
        ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
        ...(body.announceInfo !== undefined ? { announceInfo: body.announceInfo } : {}),
        ...(body.page ? { page: true } : {}),
      },
      auditContextOf(ctx),
    );
    ctx.status = 201;
    ctx.body = {
      uri: link.uri,
      expiresAt: link.expiresAt.toISOString(),
      keyFingerprint: link.keyFingerprint,
      visualHash: visualHash(link.keyFingerprint),
      // The view token rides in the fragment: browsers send it to no server, log line or Referer.
      ...(link.pageToken
        ? {
            page: {
              url: `${publicUrl}/enrol/${encodeURIComponent(server.name)}#t=${link.pageToken}`,
              viewToken: link.pageToken,
              expiresAt: link.expiresAt.toISOString(),
            },
          }
        : {}),
    };
  });
}
