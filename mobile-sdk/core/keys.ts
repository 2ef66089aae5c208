// Identity keys held in the platform KeyStore, seen by the secure channel as a Signer (the private key stays put).
import { b64u } from '../../protocol/encoding.js';
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

/** A fresh alias `{prefix}-{random}`: unguessable is not needed, unique is (KeyStore refuses to overwrite). */
export function newAlias(prefix: string): string {
  return `${prefix}-${b64u(globalThis.crypto.getRandomValues(new Uint8Array(12)))}`;
}
