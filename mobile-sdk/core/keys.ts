// Identity keys held in the platform KeyStore, seen by the secure channel as a Signer (the private key stays put).
import { hex } from '../../protocol/encoding.js';
import { publicKeyFromJwk, type Signer, thumbprint } from '../../protocol/keys.js';
import type { KeyStore } from './ports.js';

/** A Signer over a KeyStore alias: the channel signs its transcript without ever holding the private key. */
export async function keyStoreSigner(store: KeyStore, alias: string): Promise<Signer> {
  const publicKey = publicKeyFromJwk(await store.publicJwk(alias));
  return { publicKey, sign: (data) => store.sign(alias, data) };
}

/** RFC 7638 thumbprint of a KeyStore key. */
export async function keyStoreThumbprint(store: KeyStore, alias: string): Promise<string> {
  return thumbprint(publicKeyFromJwk(await store.publicJwk(alias)));
}

/**
 * A fresh alias `{prefix}-{random}`: unguessable is not needed, unique is (KeyStore refuses to overwrite).
 * The random part is hex: it becomes the local account id that people type after a command, and a
 * base64url id starting with `-` would read as an option on a command line.
 */
export function newAlias(prefix: string): string {
  return `${prefix}-${hex(globalThis.crypto.getRandomValues(new Uint8Array(12)))}`;
}
