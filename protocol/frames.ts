// Frame and record content types (docs/protocol.md §3.2): the first byte of every WebSocket binary message.

export const Frame = {
  clientHello: 0x01, // plaintext JSON, client → server
  serverHello: 0x02, // plaintext JSON, server → client
  serverAuth: 0x03, // record under the s2c handshake key, server → client
  clientFinish: 0x04, // record under the c2s handshake key, client → server
  alert: 0x0f, // plaintext JSON {code, message?}, either side, handshake only
  recordC2S: 0x10, // record under the c2s application key
  recordS2C: 0x11, // record under the s2c application key
} as const;

/** Frame types each side sends; receiving one of your own is a reflection. */
export const CLIENT_FRAMES: readonly number[] = [Frame.clientHello, Frame.clientFinish, Frame.recordC2S];
export const SERVER_FRAMES: readonly number[] = [Frame.serverHello, Frame.serverAuth, Frame.recordS2C];

/** First plaintext byte of a record. */
export const Content = {
  handshake: 0x00, // server_auth / client_finish JSON
  data: 0x01, // message layer (docs/protocol.md §9)
  ping: 0x02,
  pong: 0x03,
  close: 0x04, // JSON {code, message?}: authenticated close
  ready: 0x05, // first server record: the server accepted the client
} as const;

/** Default maximum frame size (whole WebSocket message) and the recommended ws `maxPayload`. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** Bytes a record adds to its body: type(1) + seq(8) + content type(1) + tag(16). */
export const RECORD_OVERHEAD = 26;
