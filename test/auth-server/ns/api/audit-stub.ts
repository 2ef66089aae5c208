// The audit routes over a stub AuditService whose storage fails: before the first event, or in the middle
// of an export (after the status line went out). For the failure paths of the REST API and the CLI.
import Router from '@koa/router';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { registerAuditRoutes } from '../../../../auth-server/ns/api/audit-routes.js';
import type { NsState } from '../../../../auth-server/ns/api/auth.js';
import type { NsApiDeps } from '../../../../auth-server/ns/api/context.js';
import type { AuditEvent } from '../../../../auth-server/ns/audit/model.js';
import type { AuditService } from '../../../../auth-server/ns/audit/service.js';
import { serve } from '../../../helpers/http.js';
import { logger, rootKey } from './harness.js';

export type StubFailure = 'query' | 'export-start' | 'export-midway';

function stubEvent(i: number): AuditEvent {
  return {
    id: i.toString(16).padStart(32, '0'),
    time: Date.UTC(2026, 2, 1) + i,
    type: 'session.login',
    server: { id: 'srv', name: 'acme' },
    actor: { kind: 'account', id: 'acct-1' },
    subject: { kind: 'user', id: 'alice' },
    ip: null,
    userAgent: null,
    details: { i },
  };
}

export async function startFailingAuditApi(failure: StubFailure) {
  const storageDown = () => new Error('storage down');
  const audit: AuditService = {
    record: async () => {
      throw storageDown();
    },
    query: async () => {
      throw storageDown();
    },
    async *export() {
      if (failure === 'export-start') throw storageDown();
      // Enough to leave the first chunk (200 lines) on the wire before the failure.
      for (let i = 0; i < 450; i++) yield stubEvent(i);
      throw storageDown();
    },
  };
  const router = new Router<NsState>();
  registerAuditRoutes(router, {
    audit,
    servers: { findByName: async () => undefined },
    apiKeys: {
      verify: async (key: string | undefined) =>
        key === rootKey ? { keyId: 'root', serverId: null, roles: ['root'] } : undefined,
    },
  } as unknown as NsApiDeps);
  const app = createHttpApp({ logger });
  const root = new Router();
  root.use('/ns', router.routes(), router.allowedMethods());
  app.use(root.routes()).use(root.allowedMethods());
  return serve(app);
}
