// The OpenAPI document's own operation.
import { z } from 'zod';
import type { ApiOperation } from '../openapi/operation.js';

export const openApiOperations = {
  get: {
    method: 'get',
    path: '/api/v2/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document',
    tag: 'meta',
    access: { public: true },
    responses: {
      200: { description: 'The document', schema: z.looseObject({ openapi: z.string() }) },
    },
    problems: [],
  },
} satisfies Record<string, ApiOperation>;
