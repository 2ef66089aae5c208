// Builds the OpenAPI 3.1 document of the NS REST API from the operations' zod schemas with zod's own
// JSON Schema generator (draft 2020-12, which OpenAPI 3.1 uses as its schema dialect).
import { z } from 'zod';
import type { ApiOperation } from './operation.js';
import { problemDescriptions, problemSchema } from './problem.js';

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  /** `{PUBLIC_URL}`: the document's server is `{PUBLIC_URL}{serverPath}`. */
  publicUrl: string;
  /** Default `/ns`; the IdP management API documents itself with `/idp`. */
  serverPath?: string;
  /** Default: the NS REST API's. */
  info?: { title: string; description: string };
  /** Whether authenticated operations take `X-su` (default true; the IdP management API does not). */
  impersonation?: boolean;
  operations: readonly ApiOperation[];
  /** Response schemas worth a name (`VirtualServer`, `LoginStatus`, …): referenced, not repeated. */
  components?: Record<string, z.ZodType>;
  version?: string;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const pascal = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

/** Removes what a standalone JSON Schema carries but an embedded OpenAPI schema must not. */
function embedded(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function convert(schema: z.ZodType, io: 'input' | 'output'): Json {
  return embedded(z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json);
}

/** Converts every schema of a registry at once: schemas named there become `$ref`s to components. */
function convertRegistry(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output') {
  const result = z.toJSONSchema(registry, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  return Object.fromEntries(Object.entries(result.schemas).map(([id, s]) => [id, embedded(s)]));
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = convert(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function accessText(operation: ApiOperation): string {
  const { access } = operation;
  if ('public' in access) return 'No API key needed.';
  if ('rootKey' in access) return 'Only the root API key.';
  return `API key with the role ${access.roles.map((r) => `\`${r}\``).join(' or ')} (root keys hold every role).`;
}

export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const inputs = z.registry<{ id: string }>();
  const outputs = z.registry<{ id: string }>();
  outputs.add(problemSchema, { id: 'Problem' });
  for (const [id, schema] of Object.entries(options.components ?? {})) outputs.add(schema, { id });

  /** The component name of a response schema: its own name, or one derived from the operation. */
  const outputName = (schema: z.ZodType, fallback: string): string => {
    const existing = outputs.get(schema)?.id;
    if (existing) return existing;
    outputs.add(schema, { id: fallback });
    return fallback;
  };

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of options.operations) {
    const responses: Record<string, Json> = {};
    for (const [status, spec] of Object.entries(op.responses)) {
      const name = spec.schema && outputName(spec.schema, `${pascal(op.operationId)}Response`);
      // A body without a schema (an image) is named by its media type alone.
      const content = name
        ? { [spec.contentType ?? 'application/json']: { schema: ref(name) } }
        : spec.contentType && { [spec.contentType]: {} };
      responses[status] = { description: spec.description, ...(content ? { content } : {}) };
    }
    for (const status of op.problems) {
      responses[String(status)] = {
        description: problemDescriptions[status] ?? 'Error',
        content: { 'application/problem+json': { schema: ref('Problem') } },
      };
    }
    let requestBody: Json | undefined;
    if (op.body) {
      const name = `${pascal(op.operationId)}Body`;
      inputs.add(op.body, { id: name });
      requestBody = { required: true, content: { 'application/json': { schema: ref(name) } } };
    }
    const headers: Json[] = [];
    if (op.nonce) headers.push({ $ref: '#/components/parameters/XNonce' });
    if (!('public' in op.access) && options.impersonation !== false)
      headers.push({ $ref: '#/components/parameters/XSu' });
    const authenticated = !('public' in op.access);
    const pathItem = paths[op.path] ?? {};
    paths[op.path] = pathItem;
    pathItem[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      description: [op.description, accessText(op)].filter(Boolean).join('\n\n'),
      tags: [op.tag],
      ...(authenticated ? { security: [{ apiKey: [] }] } : { security: [] }),
      'x-nextauth-access': op.access,
      parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query'), ...headers],
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }

  const inputSchemas = convertRegistry(inputs, 'input');
  const outputSchemas = convertRegistry(outputs, 'output');
  for (const name of Object.keys(inputSchemas)) {
    if (name in outputSchemas) throw new Error(`OpenAPI component ${name} is both a request and a response`);
  }

  return {
    openapi: '3.1.0',
    info: {
      title: options.info?.title ?? 'nextAuth NS REST API',
      version: options.version ?? '2',
      description:
        options.info?.description ??
        'Sessions, QR login, enrol links, virtual servers, API keys and the audit log of the nextAuth Server (after nextAuth REST v2.2). Errors are RFC 9457 problem JSON; request bodies are JSON of at most 64 KiB.',
    },
    servers: [{ url: `${options.publicUrl.replace(/\/+$/, '')}${options.serverPath ?? '/ns'}` }],
    paths,
    components: {
      schemas: { ...inputSchemas, ...outputSchemas },
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-apikey',
          description: 'Root key or a key of one virtual server',
        },
      },
      parameters: {
        XNonce: {
          name: 'X-nonce',
          in: 'header',
          required: true,
          description: 'The session nonce returned by createSession',
          schema: { type: 'string', maxLength: 512 },
        },
        XSu: {
          name: 'X-su',
          in: 'header',
          required: false,
          description: 'Root key only: act as the stored API key with this id (its server and roles)',
          schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
        },
      },
    },
  };
}
