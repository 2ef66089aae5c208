// `GET /ns/api/v2/openapi.json`: the OpenAPI document generated from the operations' zod schemas, built
// once per router on first request.
import type Router from '@koa/router';
import type { NsState } from './auth.js';
import type { NsApiDeps } from './context.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { koaPath } from './openapi/operation.js';
import { nsApiComponents, nsApiOperations } from './operations/index.js';
import { openApiOperations } from './operations/openapi.js';

export function registerOpenApiRoute(router: Router<NsState>, deps: Pick<NsApiDeps, 'publicUrl'>): void {
  let document: string | undefined;
  router.get(koaPath(openApiOperations.get), async (ctx) => {
    document ??= JSON.stringify(
      buildOpenApiDocument({
        publicUrl: deps.publicUrl,
        operations: nsApiOperations,
        components: nsApiComponents,
      }),
    );
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = document;
  });
}
