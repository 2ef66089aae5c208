// Public API of the secure channel (docs/protocol.md): handshake, session, message layer, keys, transports.
export {
  type CryptoProvider,
  defaultCrypto,
  type NativePrimitives,
  setDefaultCrypto,
  webCrypto,
} from './crypto.js';
export { type Bytes, b64u, fromB64u, fromHex, hex } from './encoding.js';
export {
  ChannelError,
  type ChannelErrorCode,
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
  channelErrorCodes,
  isChannelErrorCode,
} from './errors.js';
export { DEFAULT_MAX_FRAME_BYTES, RECORD_OVERHEAD } from './frames.js';
export { type ClientOptions, connect } from './handshake/client.js';
export type { HandshakeOptions } from './handshake/common.js';
export { type Target, type TargetKind, TargetSchema, targetKinds } from './handshake/messages.js';
export { accept, type ClientCandidate, type ServerIdentity, type ServerOptions } from './handshake/server.js';
export {
  exportPublicKeyRaw,
  generateIdentityKeyPair,
  type PublicJwk,
  publicKeyFromJwk,
  publicKeyToJwk,
  type Signer,
  signerFromKeyPair,
  thumbprint,
} from './keys.js';
export {
  Channel,
  type ChannelOptions,
  defineMessages,
  type Envelope,
  EnvelopeSchema,
  MessageError,
  type MessageErrorCode,
  type MessageRegistry,
  type PushHandler,
  type RequestHandler,
  type RequestSpec,
} from './messages.js';
export { recordNonce } from './record.js';
export { SecureSession, type SessionInfo, type SessionOptions } from './session.js';
export {
  createSuccessionRecord,
  type ServerPin,
  type SuccessionRecord,
  type SuccessionRecordJson,
  successionFromJson,
  successionToJson,
  verifyServerKey,
} from './succession.js';
export {
  type CipherSuite,
  DEFAULT_SUITES,
  PROTOCOL_VERSION,
  SUITE_AES128,
  SUITE_AES256,
  SUPPORTED_VERSIONS,
  suiteById,
} from './suites.js';
export { memoryTransportPair, type Transport, type WebSocketLike, webSocketTransport } from './transport.js';
export { type VisualHash, visualHash } from './visual-hash.js';
