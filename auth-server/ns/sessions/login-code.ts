// A session's current login code and its QR payload; the URI format itself is shared with the app
// (protocol/mobile/uris.ts).
import type { LoginUriData } from '../../../protocol/mobile/uris.js';

export { loginUri as loginQrUri, parseLoginUri as parseLoginQrUri } from '../../../protocol/mobile/uris.js';
export type LoginQrPayload = LoginUriData;
export const qrPayloadVersion = 1;

export interface LoginCode {
  code: string;
  /** After this the code is refused (end of its window plus grace, never after the session). */
  expiresAt: Date;
  /** When the next code takes over: the page should fetch a new one by then. */
  refreshAt: Date;
  /** The login code's raw data (nextAuth getQrLogin without `img`). */
  qrData: LoginQrPayload;
  qrUri: string;
}
