// The audit log operations (routes in ../audit-routes.ts) for the OpenAPI document, with that module's
// query and response schemas.

import {
  auditExportLineSchema,
  auditExportQuerySchema,
  auditPageResponseSchema,
  auditQuerySchema,
} from '../audit-routes.js';
import type { ApiOperation } from '../openapi/operation.js';

export const auditOperations = {
  query: {
    method: 'get',
    path: '/api/v2/audit',
    operationId: 'queryAuditLog',
    summary: 'Audit events with filters and keyset paging',
    description: 'A server key reads only its own server (asking for another: 403).',
    tag: 'audit',
    access: { roles: ['audit'] },
    query: auditQuerySchema,
    responses: { 200: { description: 'One page of events', schema: auditPageResponseSchema } },
    problems: [400, 401, 403],
  },
  export: {
    method: 'get',
    path: '/api/v2/audit/export',
    operationId: 'exportAuditLog',
    summary: 'Every matching event as JSON lines, oldest first',
    description: 'One JSON object per line, each an `AuditEvent`.',
    tag: 'audit',
    access: { roles: ['audit'] },
    query: auditExportQuerySchema,
    responses: {
      200: {
        description: 'application/x-ndjson: one AuditEvent per line',
        schema: auditExportLineSchema,
        contentType: 'application/x-ndjson',
      },
    },
    problems: [400, 401, 403],
  },
} satisfies Record<string, ApiOperation>;
