// The app publisher's P-256 signing key for SDK configurations: generated here, kept as a JWK file (mode 0600).
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import type { PublicJwk } from '../../../protocol/keys.js';
import { publisherFingerprint } from '../../../protocol/sdk-config/fingerprint.js';

const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
const publicSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: coordinate,
  y: coordinate,
});
const privateSchema = publicSchema.extend({ d: coordinate });

export interface PublisherPrivateJwk extends PublicJwk {
  d: string;
}

export interface PublisherKey {
  privateJwk: PublisherPrivateJwk;
  publicJwk: PublicJwk;
  /** RFC 7638 thumbprint: the `kid` of every configuration it signs, and what people compare. */
  fingerprint: string;
}

export async function generatePublisherKey(): Promise<PublisherKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return publisherKeyFromJwk(privateSchema.parse(await exportJWK(privateKey)));
}

export async function publisherKeyFromJwk(jwk: PublisherPrivateJwk): Promise<PublisherKey> {
  const { kty, crv, x, y, d } = privateSchema.parse(jwk);
  const publicJwk: PublicJwk = { kty, crv, x, y };
  return { privateJwk: { ...publicJwk, d }, publicJwk, fingerprint: await publisherFingerprint(publicJwk) };
}

/**
 * Writes the private JWK to `path` with mode 0600. Never overwrites: losing a publisher key strands every
 * device that pinned it. The file appears complete or not at all (temp file + link(2), which fails if taken).
 */
export async function writePublisherKeyFile(path: string, key: PublisherKey): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(key.privateJwk)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`${path} already exists; not overwriting a key`);
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Reads a private publisher key file (as `keygen` writes it). Errors name the file, never its content. */
export async function readPublisherKeyFile(path: string): Promise<PublisherKey> {
  const parsed = privateSchema.safeParse(await readJson(path));
  if (!parsed.success) throw new Error(`${path} is not a private P-256 JWK`);
  return publisherKeyFromJwk(parsed.data);
}

/** Reads a P-256 public key from a JWK file or inline JSON; a private JWK yields its public part. */
export async function readPublicJwk(fileOrJson: string): Promise<PublicJwk> {
  const inline = fileOrJson.trimStart().startsWith('{');
  const value = inline ? parseJson(fileOrJson, 'the inline JWK') : await readJson(fileOrJson);
  const parsed = publicSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${inline ? 'the inline JWK' : fileOrJson} is not a P-256 JWK`);
  const { kty, crv, x, y } = parsed.data;
  return { kty, crv, x, y };
}

/**
 * The publisher key at `path`, created on first use: what embedded mode needs for its demo configuration.
 * Concurrent first starts agree on one key (the loser of the link race reads the winner's file).
 */
export async function loadOrCreatePublisherKey(path: string): Promise<PublisherKey> {
  try {
    return await readPublisherKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await writePublisherKeyFile(path, await generatePublisherKey());
  } catch (err) {
    if (!(err instanceof Error && err.message.endsWith('not overwriting a key'))) throw err;
  }
  return readPublisherKeyFile(path);
}

async function readJson(path: string): Promise<unknown> {
  return parseJson(await readFile(path, 'utf8'), path);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
}
