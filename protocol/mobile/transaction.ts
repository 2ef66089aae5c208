// What a transaction signature covers (DESIGN.md §4, issue #11): the signed data, its JCS form (RFC 8785),
// its digest, and the display template rendered from it — one implementation for the phone, NS and the
// offline receipt verifier, so all three see the same bytes and the same text.
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { defaultCrypto, ECDSA_P256 } from '../crypto.js';
import { type Bytes, b64u, fromB64u, utf8 } from '../encoding.js';
import type { PublicJwk, Signer } from '../keys.js';
import { b64u32, serverIdSchema } from './common.js';

/** A transaction id: base64url of 16 random bytes, as MC message ids are (it is also the message's id). */
export const transactionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'not a transaction id');

/** Type names: lowercase words with `_`/`-` (RFC 9396 `type` values of our registry, e.g. `payment`). */
export const transactionTypeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'lowercase letters, digits, - and _');

/** BCP 47 language tags as templates are registered (`en`, `nl`, `fr-BE`). */
export const localeSchema = z
  .string()
  .min(2)
  .max(16)
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en or fr-BE');

/**
 * A decimal amount as a string: no float ever carries money (JSON numbers would be read into doubles).
 * Up to 15 integer digits and 4 decimals, no sign, no exponent.
 */
export const decimalAmountSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$/, 'a decimal amount');
/** ISO 4217 alphabetic code. */
export const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code');

/** A value shown and signed: plain one-line text, no control or bidi characters (they could hide text). */
export const transactionValueSchema = z
  .string()
  .max(500)
  .refine((s) => !/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(s), 'control or bidi characters');

/** A CIBA binding message: short plain text, one line, no control or bidi characters. */
export const maxBindingMessageLength = 64;
export const bindingMessageSchema = z
  .string()
  .min(1)
  .max(maxBindingMessageLength)
  .refine((s) => !/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(s), 'control or bidi characters');

/** Placeholder names: the keys of `values`, dotted paths into an RFC 9396 object (`instructedAmount.amount`). */
export const valueNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'letters, digits, _ and dots');

export const maxTransactionValues = 32;

export const transactionValuesSchema = z
  .record(valueNameSchema, transactionValueSchema)
  .refine((v) => Object.keys(v).length <= maxTransactionValues, `at most ${maxTransactionValues} values`);

/**
 * A display template: text with `{name}` placeholders, one line or a few, at most 1000 characters. Every
 * placeholder must be a value of the transaction; `{{` and `}}` are literal braces.
 */
export const templateTextSchema = z
  .string()
  .min(1)
  .max(1000)
  // Line breaks are allowed (a template may have a few lines); other control and bidi characters are not.
  .refine((s) => !/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(s.replaceAll('\n', '')), {
    message: 'control or bidi characters',
  });

/** The template a signature covers: its id (`{type}:{locale}`) and the SHA-256 of its text. */
export const signedTemplateSchema = z.strictObject({ id: z.string().min(3).max(90), sha256: b64u32 });

/** The object whose JCS form the account key signs (issue #11). */
export const transactionSignedDataSchema = z.strictObject({
  /** Domain separation: no other nextAuth signature is over an object with this member. */
  purpose: z.literal('nextauth-transaction-v1'),
  tid: transactionIdSchema,
  /** Global server id `{NS URL}/ns/{name}`. */
  server: serverIdSchema,
  type: transactionTypeSchema,
  template: signedTemplateSchema,
  locale: localeSchema,
  /** Every value the template shows, amounts as decimal strings with a `currency` value beside them. */
  values: transactionValuesSchema,
  /**
   * OIDC CIBA's `binding_message`: shown beside the text on the phone and on the device the user started
   * from, so they can tell this request is theirs. Signed too, so a receipt says which one the user saw.
   * Absent for REST transactions (their signed data is unchanged).
   */
  bindingMessage: bindingMessageSchema.optional(),
});
export type TransactionSignedData = z.output<typeof transactionSignedDataSchema>;

/** JCS (RFC 8785) of the signed data: the exact bytes that are signed and hashed. */
export function canonicalTransaction(data: TransactionSignedData): string {
  const text = canonicalize(data);
  if (text === undefined) throw new TypeError('transaction data is not JSON');
  return text;
}

export async function sha256Bytes(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await defaultCrypto().subtle.digest('SHA-256', data));
}

/** SHA-256 of the JCS form: what the SFS attestation binds (attestationChallenge's transaction digest). */
export async function transactionDigest(data: TransactionSignedData): Promise<Bytes> {
  return sha256Bytes(utf8(canonicalTransaction(data)));
}

/** base64url SHA-256 of a template's UTF-8 text (signed with the data, so the wording is signed too). */
export async function templateHash(text: string): Promise<string> {
  return b64u(await sha256Bytes(utf8(text)));
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** The placeholder names a template uses, in order of appearance (repeats kept once). */
export function templatePlaceholders(template: string): string[] {
  const names: string[] = [];
  for (const token of tokens(template))
    if (token.name !== undefined && !names.includes(token.name)) names.push(token.name);
  return names;
}

/**
 * The text the user sees: the template with each `{name}` replaced by its value. A placeholder without a
 * value, or a stray brace, is a TemplateError: showing a half-filled text could mislead.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  let out = '';
  for (const token of tokens(template)) {
    if (token.name === undefined) {
      out += token.text;
      continue;
    }
    const value = Object.hasOwn(values, token.name) ? values[token.name] : undefined;
    if (value === undefined) throw new TemplateError(`no value for {${token.name}}`);
    out += value;
  }
  return out;
}

function* tokens(template: string): Generator<{ text: string; name?: string }> {
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      yield { text: c };
      i += 2;
      continue;
    }
    if (c === '}') throw new TemplateError('unmatched } in template');
    if (c === '{') {
      const end = template.indexOf('}', i);
      const name = end < 0 ? '' : template.slice(i + 1, end);
      if (!valueNameSchema.safeParse(name).success)
        throw new TemplateError('malformed placeholder in template');
      yield { text: '', name };
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < template.length && template[j] !== '{' && template[j] !== '}') j++;
    yield { text: template.slice(i, j) };
    i = j;
  }
}

/** The account key's signature (ECDSA P-256 SHA-256, r ‖ s base64url) over the JCS of the signed data. */
export async function signTransaction(signer: Signer, data: TransactionSignedData): Promise<string> {
  return b64u(await signer.sign(utf8(canonicalTransaction(data))));
}

/** Whether `signature` is the key's signature over the JCS of `data` (false for any malformed input). */
export async function verifyTransactionSignature(
  publicJwk: PublicJwk,
  data: TransactionSignedData,
  signature: string,
): Promise<boolean> {
  try {
    const subtle = defaultCrypto().subtle;
    const key = await subtle.importKey('jwk', { ...publicJwk, ext: true }, ECDSA_P256, false, ['verify']);
    const sig = fromB64u(signature);
    if (sig.length !== 64) return false;
    return await subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      sig,
      utf8(canonicalTransaction(data)),
    );
  } catch {
    return false;
  }
}

/** An ECDSA P-256 signature as r ‖ s, base64url (64 bytes). */
export const transactionSignatureSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'expected a P-256 signature');
