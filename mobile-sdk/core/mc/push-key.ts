// The app-instance key's thumbprint: what the app tells NS so NS can find this instance at the MC.
import { publicKeyFromJwk, thumbprint } from '../../../protocol/keys.js';
import { INSTANCE_KEY_ALIAS } from '../instance/sfs-session.js';
import type { KeyStore } from '../ports.js';

/** Undefined before the instance key exists (it is made with the first SFS or MC session). */
export async function pushKeyThumbprint(keyStore: KeyStore): Promise<string | undefined> {
  if (!(await keyStore.has(INSTANCE_KEY_ALIAS))) return undefined;
  return thumbprint(publicKeyFromJwk(await keyStore.publicJwk(INSTANCE_KEY_ALIAS)));
}
