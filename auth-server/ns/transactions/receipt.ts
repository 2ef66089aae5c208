// The signed receipt of an approved transaction (issue #11): self-contained evidence that anyone can check
// offline — what was shown (template + values, rendered), what was signed (JCS), by which account key, with
// which SFS attestation, countersigned by the NS virtual server's key.

import canonicalize from 'canonicalize';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { z } from 'zod';
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { b64u, fromB64u, utf8 } from '../../../protocol/encoding.js';
import { type PublicJwk, publicKeyFromJwk, type Signer, thumbprint } from '../../../protocol/keys.js';
import { publicJwkSchema } from '../../../protocol/mobile/common.js';
import {
  renderTemplate,
  sha256Bytes,
  templateHash,
  transactionDigest,
  transactionSignatureSchema,
  transactionSignedDataSchema,
  verifyTransactionSignature,
} from '../../../protocol/mobile/transaction.js';
import {
  attestationAlgorithm,
  attestationClaimsSchema,
  attestationType,
} from '../../common/attestation/format.js';

export const receiptType = 'nextauth-transaction-receipt';

/** Biggest receipt file `verify-receipt` reads (a receipt of the largest transaction is well below it). */
export const maxReceiptBytes = 256 * 1024;

const iso = z.iso.datetime();
const b64u43 = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const receiptSchema = z.strictObject({
  typ: z.literal(receiptType),
  v: z.literal(1),
  transaction: z.strictObject({
    tid: z.string(),
    server: z.string(),
    serverName: z.string(),
    type: z.string(),
    userid: z.string(),
    account: z.string(),
    createdAt: iso,
    expiresAt: iso,
    approvedAt: iso,
    authorizationDetails: z.record(z.string(), z.unknown()).nullable(),
  }),
  /** Exactly the object whose JCS the account key signed. */
  signedData: transactionSignedDataSchema,
  template: z.strictObject({ id: z.string(), text: z.string(), sha256: b64u43 }),
  /** What the phone showed: the template rendered with the signed values. */
  rendered: z.strictObject({ text: z.string(), sha256: b64u43 }),
  accountKey: publicJwkSchema,
  signature: transactionSignatureSchema,
  attestation: z.strictObject({
    jws: z.string().max(4096),
    /** The SFS key that signed it (its RFC 7638 thumbprint is the JWS `kid`). */
    sfsKey: publicJwkSchema,
    /** The NS channel's transcript hash the attestation is bound to (with the digest of the signed data). */
    transcriptHash: b64u43,
    method: z.enum(['pin', 'bio']),
  }),
  ns: z.strictObject({ key: publicJwkSchema, countersignedAt: iso }),
  /** The server key's ECDSA P-256 signature (r ‖ s) over the JCS of every other member. */
  countersignature: transactionSignatureSchema,
});
export type Receipt = z.output<typeof receiptSchema>;

export type UnsignedReceipt = Omit<Receipt, 'countersignature'>;

function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('not JSON');
  return text;
}

/** Countersigns with the virtual server's identity key. */
export async function countersign(receipt: UnsignedReceipt, signer: Signer): Promise<Receipt> {
  const countersignature = b64u(await signer.sign(utf8(jcs(receipt))));
  return { ...receipt, countersignature };
}

/** The check that failed, named for people and scripts. */
export type ReceiptCheck =
  | 'format'
  | 'template_hash'
  | 'rendered_text'
  | 'transaction_data'
  | 'account_signature'
  | 'attestation_signature'
  | 'attestation_binding'
  | 'countersignature'
  | 'server_key';

export type ReceiptVerdict =
  | { ok: true; receipt: Receipt; serverKeyThumbprint: string }
  | { ok: false; check: ReceiptCheck; detail: string };

async function verifyEs256(jwk: PublicJwk, data: Uint8Array, signature: string): Promise<boolean> {
  try {
    const subtle = globalThis.crypto.subtle;
    const key = await subtle.importKey(
      'jwk',
      { ...jwk, ext: true },
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    const sig = fromB64u(signature);
    return (
      sig.length === 64 &&
      (await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, data as Uint8Array<ArrayBuffer>))
    );
  } catch {
    return false;
  }
}

const jwkThumbprint = (jwk: PublicJwk) => thumbprint(publicKeyFromJwk(jwk));

/**
 * Checks a receipt without any server: every hash, the account signature, the attestation (SFS signature and
 * binding to this account key and this signed data) and the countersignature. `serverKeyThumbprint`, when
 * given, pins the NS key (else the verdict names the key so the caller can compare it).
 */
export async function verifyReceipt(
  input: unknown,
  options: { serverKeyThumbprint?: string } = {},
): Promise<ReceiptVerdict> {
  const parsed = receiptSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, check: 'format', detail: `${issue?.path.join('.') || 'receipt'}: ${issue?.message}` };
  }
  const r = parsed.data;
  const fail = (check: ReceiptCheck, detail: string): ReceiptVerdict => ({ ok: false, check, detail });

  const { countersignature, ...unsigned } = r;
  // First the countersignature: it covers every member, so after it each further check says what is wrong.
  if (!(await verifyEs256(r.ns.key, utf8(jcs(unsigned)), countersignature)))
    return fail('countersignature', 'the server countersignature does not verify over the receipt');
  const serverKeyThumbprint = await jwkThumbprint(r.ns.key);
  if (options.serverKeyThumbprint !== undefined && options.serverKeyThumbprint !== serverKeyThumbprint)
    return fail('server_key', `countersigned by key ${serverKeyThumbprint}, not the expected one`);

  const data = r.signedData;
  const t = r.transaction;
  if (data.tid !== t.tid || data.server !== t.server || data.type !== t.type)
    return fail('transaction_data', 'the signed data names another transaction, server or type');

  const hash = await templateHash(r.template.text);
  if (hash !== r.template.sha256 || hash !== data.template.sha256 || r.template.id !== data.template.id)
    return fail('template_hash', 'the template is not the one whose id and SHA-256 were signed');

  let rendered: string;
  try {
    rendered = renderTemplate(r.template.text, data.values);
  } catch (err) {
    return fail('rendered_text', (err as Error).message);
  }
  if (rendered !== r.rendered.text || b64u(await sha256Bytes(utf8(rendered))) !== r.rendered.sha256)
    return fail('rendered_text', 'the rendered text is not the template filled with the signed values');

  if (!(await verifyTransactionSignature(r.accountKey, data, r.signature)))
    return fail('account_signature', 'the account key signature does not verify over the signed data');

  let claims: z.output<typeof attestationClaimsSchema>;
  try {
    const header = decodeProtectedHeader(r.attestation.jws);
    if (header.typ !== attestationType || header.alg !== attestationAlgorithm)
      return fail('attestation_signature', 'not an SFS attestation (typ/alg)');
    if (header.kid !== (await jwkThumbprint(r.attestation.sfsKey)))
      return fail('attestation_signature', 'the attestation was not signed by the enclosed SFS key');
    const key = await importJWK({ ...r.attestation.sfsKey, alg: attestationAlgorithm }, attestationAlgorithm);
    const { payload } = await compactVerify(r.attestation.jws, key, { algorithms: [attestationAlgorithm] });
    claims = attestationClaimsSchema.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch {
    return fail('attestation_signature', 'the attestation signature does not verify');
  }
  const challenge = await attestationChallenge({
    serverId: data.server,
    accountKeyThumbprint: await jwkThumbprint(r.accountKey),
    transcriptHash: fromB64u(r.attestation.transcriptHash),
    purpose: 'transaction',
    transactionDigest: await transactionDigest(data),
  });
  if (claims.challenge !== challenge || claims.aud !== data.server || claims.method !== r.attestation.method)
    return fail('attestation_binding', 'the attestation is not bound to this account key and signed data');
  return { ok: true, receipt: r, serverKeyThumbprint };
}
