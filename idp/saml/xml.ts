// Parsing SAML XML we did not write: size-capped, no DTD (so no external entities and no entity expansion,
// saml-sec-consider §6.3.1), well-formed, and valid against the SAML 2.0 schemas (xmllint compiled to
// WebAssembly; no Java), before anything reads a value from it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { validateXML } from 'xmllint-wasm';
import { SamlError } from './errors.js';

/** POST bodies (DESIGN.md §5). */
export const maxPostBytes = 1024 * 1024;
/** The inflated Redirect payload (DESIGN.md §5). */
export const maxInflatedBytes = 256 * 1024;

const schemaFiles = [
  'saml-schema-protocol-2.0.xsd',
  'datatypes.dtd',
  'saml-schema-assertion-2.0.xsd',
  'xmldsig-core-schema.xsd',
  'XMLSchema.dtd',
  'xenc-schema.xsd',
] as const;

let schemas: { fileName: string; contents: string }[] | undefined;
/** The schemas shipped with @authenio/samlify-xmllint-wasm, read once (its own `validate` rereads them). */
function loadSchemas() {
  if (!schemas) {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve('@authenio/samlify-xmllint-wasm')), 'schemas');
    schemas = schemaFiles.map((fileName) => ({
      fileName,
      contents: readFileSync(join(dir, fileName), 'utf8'),
    }));
  }
  return schemas;
}

/** Resolves when `xml` is valid against the SAML 2.0 protocol schema; a SamlError otherwise. */
export async function validateSchema(xml: string): Promise<void> {
  const [schema, ...preload] = loadSchemas();
  if (!schema) throw new Error('SAML schemas missing');
  let valid = false;
  try {
    const result = await validateXML({
      xml: [{ fileName: 'message.xml', contents: xml }],
      extension: 'schema',
      schema: [schema.contents],
      preload,
    });
    valid = result.valid;
  } catch {
    valid = false;
  }
  if (!valid) throw new SamlError('malformed', 'The message is not valid SAML 2.0');
}

/**
 * A DOM of `xml`: refused when it has a DOCTYPE (the only way to declare entities) or a parse error of any
 * level; xmldom's own messages stay out of ours.
 */
export function parseXml(xml: string): Document {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw new SamlError('malformed', 'DTDs and entities are not accepted');
  const fail = () => {
    throw new SamlError('malformed', 'The message is not well-formed XML');
  };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: fail }).parseFromString(xml, 'text/xml');
  } catch (err) {
    if (err instanceof SamlError) throw err;
    throw new SamlError('malformed', 'The message is not well-formed XML');
  }
  if (!doc.documentElement) fail();
  return doc;
}

/** Parsed and schema-valid: the one way SAML input from outside becomes a DOM. */
export async function parseSamlMessage(xml: string): Promise<Document> {
  const doc = parseXml(xml);
  await validateSchema(xml);
  return doc;
}
