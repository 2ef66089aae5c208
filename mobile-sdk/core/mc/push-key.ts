// The app-instance key's thumbprint: what the app tells NS so NS can find this instance at the MC.
import { publicKeyFromJwk, thumbprint } from '../../../protocol/keys.js';
import { type PushKeyProof, pushKeyProof } from '../../../protocol/mobile/push-key.js';
import { INSTANCE_KEY_ALIAS } from '../instance/sfs-session.js';
import { keyStoreSigner } from '../keys.js';
import type { KeyStore } from '../ports.js';

/** Undefined before the instance key exists (it is made with the first SFS or MC session). */
export async function pushKeyThumbprint(keyStore: KeyStore): Promise<string | undefined> {
  if (!(await keyStore.has(INSTANCE_KEY_ALIAS))) return undefined;
  return thumbprint(publicKeyFromJwk(await keyStore.publicJwk(INSTANCE_KEY_ALIAS)));
}

/**
 * `{pushKey, pushKeyProof}` for `enrol.complete` / `login.confirm` on the NS channel with `transcriptHash`:
 * the instance key signs the channel, so NS takes the pushKey only from the phone that holds that key.
 */
export async function pushKeyFields(
  keyStore: KeyStore,
  transcriptHash: Uint8Array,
): Promise<{ pushKey?: string; pushKeyProof?: PushKeyProof }> {
  const pushKey = await pushKeyThumbprint(keyStore);
  if (pushKey === undefined) return {};
  const signer = await keyStoreSigner(keyStore, INSTANCE_KEY_ALIAS);
  return { pushKey, pushKeyProof: await pushKeyProof(signer, transcriptHash) };
}
