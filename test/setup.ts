// Mocha setup shared by every suite: quiet logs unless asked for, and a stable test environment.
import { nodeCrypto } from '../auth-server/common/crypto/node-crypto.js';
import { setDefaultCrypto } from '../protocol/crypto.js';

process.env.NEXTAUTH_LOG_LEVEL ??= 'silent';
// What every Node process of ours runs with (startRuntime installs it); the WebCrypto path has its own
// suites (test/protocol, and the same cases in Chromium).
setDefaultCrypto(nodeCrypto());
