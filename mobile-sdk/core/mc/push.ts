// The platform's push registration for the MC (FCM on Android, APNs on iOS, none for the Node virtual phone).
import type { PushRegistration } from '../../../protocol/mobile/mc.js';

/**
 * Asked at every MC registration, so a token the platform rotated reaches MC with the next session. A token
 * is a device secret: the SDK hands it to MC inside the secure channel and never logs or stores it.
 */
export interface PushTokenSource {
  registration(): Promise<PushRegistration>;
}

/** No push service: the app relies on pull and the WebSocket subscription (de-Googled devices, Node). */
export const noPush: PushTokenSource = { registration: async () => ({ provider: 'none' }) };
