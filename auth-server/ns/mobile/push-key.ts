// The pushKey an app names at enrol or login: taken only with a proof that the phone holds that app-instance
// key (its signature over this channel). Checked before anything else of the request changes state, so a
// refused pushKey leaves the enrol token, the login and the account's push target as they were. The MC then
// delivers only to an instance registered under that key (it proved the key in the MC handshake).
import { MessageError } from '../../../protocol/index.js';
import { type PushKeyProof, verifyPushKeyProof } from '../../../protocol/mobile/push-key.js';

export async function provenPushKey(
  body: { pushKey?: string | undefined; pushKeyProof?: PushKeyProof | undefined },
  transcriptHash: Uint8Array,
): Promise<string | undefined> {
  if (body.pushKey === undefined) return undefined;
  if (!body.pushKeyProof || !(await verifyPushKeyProof(body.pushKey, body.pushKeyProof, transcriptHash)))
    throw new MessageError(
      'invalid_push_key',
      'pushKey needs pushKeyProof: a signature by that app-instance key over this channel',
    );
  return body.pushKey;
}
