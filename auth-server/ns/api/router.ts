// The NS public router (mounted at /ns): REST v2 for integrators and the browser's session endpoints.
import Router from '@koa/router';
import { registerAccountRoutes } from './account-routes.js';
import { registerAuditRoutes } from './audit-routes.js';
import type { NsState } from './auth.js';
import { registerBrowserRoutes } from './browser-routes.js';
import type { NsApiDeps } from './context.js';
import { registerDeviceRoutes } from './device-routes.js';
import { registerEnrolRoutes } from './enrol-routes.js';
import { registerEnrolViewRoutes } from './enrol-view-routes.js';
import { registerOpenApiRoute } from './openapi-route.js';
import { registerPushRoutes } from './push-routes.js';
import { registerServerRoutes } from './server-routes.js';
import { registerTransactionRoutes } from './transaction-routes.js';
import { registerUserRoutes } from './user-routes.js';
import { registerV2Routes } from './v2-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';

export type { NsApiDeps } from './context.js';

export function createNsRouter(deps: NsApiDeps): Router<NsState> {
  const router = new Router<NsState>();
  registerV2Routes(router, deps);
  registerEnrolRoutes(router, deps);
  registerServerRoutes(router, deps);
  registerUserRoutes(router, deps);
  registerAccountRoutes(router, deps);
  registerOpenApiRoute(router, deps);
  registerBrowserRoutes(router, deps);
  registerDeviceRoutes(router, deps);
  registerAuditRoutes(router, deps);
  registerWebhookRoutes(router, deps);
  registerEnrolViewRoutes(router, deps);
  registerPushRoutes(router, deps);
  registerTransactionRoutes(router, deps);
  return router;
}
