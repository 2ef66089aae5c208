// End-to-end encryption of MC mailbox messages (docs/mc.md): the sender (NS) seals for the app instance's
// ECDH key; MC stores and relays the sealed string and cannot open it. ECDH-ES P-256 with a fresh ephemeral
// key per message, HKDF-SHA-256, AES-256-GCM; the header (message id, instance, expiry, ephemeral key) is
// the AAD, so MC cannot move a message to another id, instance or lifetime without failing decryption.
import { z } from 'zod';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  type CryptoProvider,
  defaultCrypto,
  ecdh,
  generateEcdhKeyPair,
  hkdfSha256,
  importAesGcmKey,
  type SecretKey,
} from '../crypto.js';
import { type Bytes, b64u, concat, fromB64u, fromUtf8, utf8 } from '../encoding.js';
import { isUncompressedPoint, type PublicJwk, publicKeyFromJwk } from '../keys.js';
import { MAX_SEALED_MESSAGE_BYTES, mcMessageIdSchema } from './mc.js';

/** Format tag: a new KDF or cipher gets a new tag. */
export const SEALED_MESSAGE_FORMAT = 'nxm1';
const keyInfo = utf8('nextauth-mc/1 message key');
const b64u65 = z.string().regex(/^[A-Za-z0-9_-]{87}$/);

const headerSchema = z
  .object({
    id: mcMessageIdSchema,
    /** The MC app instance id the message is for. */
    ins: z.string().min(1).max(64),
    /** Expiry, epoch milliseconds: never delivered or opened afterwards. */
    exp: z.number().int().positive(),
    /** The sender's ephemeral ECDH public key (raw, base64url). */
    epk: b64u65,
  })
  .strict();

export interface SealedHeader {
  id: string;
  instanceId: string;
  expiresAt: number;
  ephemeralKey: Bytes;
}

export type SealErrorCode = 'malformed' | 'wrong_recipient' | 'expired' | 'decrypt_failed';

export class SealError extends Error {
  override readonly name = 'SealError';
  constructor(
    readonly code: SealErrorCode,
    message?: string,
  ) {
    super(message ? `${code}: ${message}` : code);
  }
}

/** A fresh message id (16 random bytes): the sender picks it, so the AAD can bind it. */
export function newMcMessageId(c: CryptoProvider = defaultCrypto()): string {
  return b64u(c.random(16));
}

export interface SealInput {
  /** The instance's encryption key (as MC's `recipient` returns it). */
  recipientKey: PublicJwk;
  instanceId: string;
  id: string;
  expiresAt: number;
  plaintext: Bytes | string;
  crypto?: CryptoProvider;
}

async function messageKey(c: CryptoProvider, z: Bytes, epk: Bytes, recipient: Bytes): Promise<SecretKey> {
  // The salt binds both public keys, as ECIES-KEM does: the key is for this ephemeral and this recipient.
  return importAesGcmKey(c, await hkdfSha256(c, z, concat(epk, recipient), keyInfo, 32));
}

/** `nxm1.<header>.<iv>.<ciphertext‖tag>`, all base64url; the AAD is `nxm1.<header>` as sent. */
export async function sealMcMessage(input: SealInput): Promise<string> {
  const c = input.crypto ?? defaultCrypto();
  const recipient = publicKeyFromJwk(input.recipientKey);
  const pair = await generateEcdhKeyPair(c);
  const epk = pair.publicRaw;
  const header = headerSchema.parse({
    id: input.id,
    ins: input.instanceId,
    exp: input.expiresAt,
    epk: b64u(epk),
  });
  const protectedHeader = `${SEALED_MESSAGE_FORMAT}.${b64u(utf8(JSON.stringify(header)))}`;
  const key = await messageKey(c, await pair.agree(recipient), epk, recipient);
  const iv = c.random(12);
  const plain = typeof input.plaintext === 'string' ? utf8(input.plaintext) : input.plaintext;
  const ct = await aesGcmEncrypt(c, key, iv, utf8(protectedHeader), plain);
  const sealed = `${protectedHeader}.${b64u(iv)}.${b64u(ct)}`;
  if (sealed.length > MAX_SEALED_MESSAGE_BYTES)
    throw new SealError('malformed', `sealed message above ${MAX_SEALED_MESSAGE_BYTES} bytes`);
  return sealed;
}

interface Parsed {
  header: SealedHeader;
  aad: Bytes;
  iv: Bytes;
  ct: Bytes;
}

function parse(sealed: string): Parsed {
  if (sealed.length > MAX_SEALED_MESSAGE_BYTES) throw new SealError('malformed', 'too large');
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== SEALED_MESSAGE_FORMAT) throw new SealError('malformed', 'format');
  try {
    const header = headerSchema.parse(JSON.parse(fromUtf8(fromB64u(parts[1] ?? ''))));
    const epk = fromB64u(header.epk);
    const iv = fromB64u(parts[2] ?? '');
    const ct = fromB64u(parts[3] ?? '');
    if (!isUncompressedPoint(epk) || iv.length !== 12 || ct.length < 16) throw new Error('lengths');
    return {
      header: { id: header.id, instanceId: header.ins, expiresAt: header.exp, ephemeralKey: epk },
      aad: utf8(`${parts[0]}.${parts[1]}`),
      iv,
      ct,
    };
  } catch {
    throw new SealError('malformed', 'header');
  }
}

/**
 * The clear header, without any key: what MC checks before it stores a message (that it is for the
 * instance it is posted to, with the id and expiry it is stored under). Throws SealError `malformed`.
 */
export function readSealedHeader(sealed: string): SealedHeader {
  return parse(sealed).header;
}

export interface OpenOptions {
  /** ECDH with the instance's private encryption key (it never leaves the key store): the 32-byte Z. */
  agree(ephemeralKey: Bytes): Promise<Bytes>;
  /** The instance's encryption public key (raw or JWK). */
  recipientKey: PublicJwk;
  /** The receiver's instance id: a message sealed for another instance is refused. */
  instanceId: string;
  /** Epoch milliseconds. */
  now: number;
  /** The id the message was delivered under, which the header must repeat. */
  id?: string;
  crypto?: CryptoProvider;
}

/** Opens a sealed message; `malformed`, `wrong_recipient`, `expired` or `decrypt_failed` otherwise. */
export async function openMcMessage(
  sealed: string,
  options: OpenOptions,
): Promise<{ header: SealedHeader; plaintext: Bytes }> {
  const c = options.crypto ?? defaultCrypto();
  const { header, aad, iv, ct } = parse(sealed);
  if (header.instanceId !== options.instanceId || (options.id !== undefined && header.id !== options.id))
    throw new SealError('wrong_recipient');
  if (header.expiresAt <= options.now) throw new SealError('expired');
  const recipient = publicKeyFromJwk(options.recipientKey);
  try {
    const key = await messageKey(c, await options.agree(header.ephemeralKey), header.ephemeralKey, recipient);
    return { header, plaintext: await aesGcmDecrypt(c, key, iv, aad, ct) };
  } catch {
    throw new SealError('decrypt_failed');
  }
}

/** ECDH with a WebCrypto private key: the `agree` of a key held in memory (tests, the Node key store). */
export async function agreeWith(
  privateKey: CryptoKey,
  ephemeralKey: Bytes,
  c: CryptoProvider = defaultCrypto(),
): Promise<Bytes> {
  return ecdh(c, privateKey, ephemeralKey);
}
