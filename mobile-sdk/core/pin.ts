// PIN proofs (DESIGN.md §6): the app sends SFS HMAC-SHA-256(device PIN key, PIN); key and PIN stay on the device.
import { b64u, utf8 } from '../../protocol/encoding.js';
import { type KeyStore, KeyStoreError } from './ports.js';

/** Default alias of the device PIN key: one per app instance. */
export const PIN_KEY_ALIAS = 'device-pin-key';

/** PINs are 4–12 digits: what the prompts accept and what every SFS policy counts attempts for. */
export const PIN_PATTERN = /^[0-9]{4,12}$/;

/** Creates the device PIN key once, when the app instance is set up; later calls leave it unchanged. */
export async function ensurePinKey(store: KeyStore, alias: string = PIN_KEY_ALIAS): Promise<void> {
  if (await store.has(alias)) return;
  try {
    await store.generate(alias, 'hmac-sha256');
  } catch (err) {
    // Another caller created it between `has` and `generate`: that key is the one to use.
    if (!(err instanceof KeyStoreError && err.code === 'exists')) throw err;
  }
}

/**
 * base64url of HMAC-SHA-256(device PIN key, UTF-8 PIN), the `pinProof` of the SFS messages. A missing key is
 * an error (`not_found`), not a reason to create one: a new key would turn the right PIN into a wrong one.
 */
export async function pinProof(store: KeyStore, pinKeyAlias: string, pin: string): Promise<string> {
  if (!PIN_PATTERN.test(pin)) throw new TypeError('a PIN is 4 to 12 digits');
  return b64u(await store.sign(pinKeyAlias, utf8(pin)));
}
