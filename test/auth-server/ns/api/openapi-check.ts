// Checks answers a test received against the NS OpenAPI document: the status must be documented for that
// operation and the body must match the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'chai';
import { buildOpenApiDocument } from '../../../../auth-server/ns/api/openapi/document.js';
import { nsApiComponents, nsApiOperations } from '../../../../auth-server/ns/api/operations/index.js';

// ajv-formats is CommonJS with `exports.default`; under ESM the callable sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

export interface ResponseChecker {
  document: Json;
  /** Asserts that `res` (status, content type, body) is what the document says for `method path`. */
  check(res: Response, method: string, path: string): Promise<unknown>;
  /** How many answers were checked (so a suite can assert it checked something). */
  checked(): number;
}

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Checks against the NS document, or against `given` (the IdP management API's). */
export function openApiChecker(publicUrl = 'http://127.0.0.1:3000', given?: Json): ResponseChecker {
  const document =
    given ??
    buildOpenApiDocument({
      publicUrl,
      operations: nsApiOperations,
      components: nsApiComponents,
    });
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi');
  let count = 0;
  return {
    document,
    checked: () => count,
    async check(res, method, path) {
      const bytes = Buffer.from(await res.arrayBuffer());
      const text = bytes.toString('utf8');
      const operation = (document.paths as Record<string, Record<string, Json>>)[path]?.[
        method.toLowerCase()
      ];
      expect(operation, `${method} ${path} is documented`).to.not.equal(undefined);
      const responses = (operation?.responses ?? {}) as Record<
        string,
        { content?: Record<string, { schema?: unknown }> }
      >;
      const documented = responses[String(res.status)];
      expect(
        documented,
        `${method} ${path} documents status ${res.status} (body ${text.slice(0, 200)})`,
      ).to.not.equal(undefined);
      count++;
      const content = documented?.content;
      if (!content) {
        expect(text, `${res.status} has no body`).to.equal('');
        return undefined;
      }
      const [type] = Object.keys(content);
      expect(res.headers.get('content-type') ?? '').to.contain(type);
      const ref = `openapi#/${pointer('paths', path, method.toLowerCase(), 'responses', String(res.status), 'content', type ?? '', 'schema')}`;
      // A body documented by its media type alone (an image): the type, and that there is a body.
      if (!content[type ?? '']?.schema) {
        expect(bytes.length, `${method} ${path} ${res.status} has a body`).to.be.greaterThan(0);
        return bytes;
      }
      const validate = ajv.getSchema(ref);
      if (!validate) throw new Error(`no schema at ${ref}`);
      const valid = (body: unknown, what: string) =>
        expect(
          validate(body),
          `${method} ${path} ${res.status}${what}: ${ajv.errorsText(validate.errors)}`,
        ).to.equal(true);
      // JSON lines: the schema describes each line.
      if (type === 'application/x-ndjson') {
        const lines = text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as unknown);
        for (const [i, line] of lines.entries()) valid(line, ` line ${i + 1}`);
        return lines;
      }
      const body: unknown = JSON.parse(text);
      valid(body, '');
      return body;
    },
  };
}
