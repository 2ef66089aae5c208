// Runs a protocol suite once per crypto provider a Node process may use: plain WebCrypto (what browsers and
// phones use) and WebCrypto plus node:crypto's synchronous primitives (what the servers install).
import { nodeCrypto } from '../../auth-server/common/crypto/node-crypto.js';
import { type CryptoProvider, setDefaultCrypto, webCrypto } from '../../protocol/crypto.js';

export function forEachProvider(title: string, body: () => void): void {
  const providers: [string, () => CryptoProvider][] = [
    ['WebCrypto', () => webCrypto()],
    ['node:crypto primitives', () => nodeCrypto()],
  ];
  for (const [name, make] of providers) {
    describe(`${title} (${name})`, () => {
      let previous: CryptoProvider | undefined;
      before(() => {
        previous = setDefaultCrypto(make());
      });
      after(() => {
        if (previous) setDefaultCrypto(previous);
      });
      body();
    });
  }
}
