// Test vectors replay byte-exactly; thumbprints agree with jose's RFC 7638 implementation.
import { expect } from 'chai';
import { calculateJwkThumbprint } from 'jose';
import { fromHex } from '../../protocol/encoding.js';
import { publicKeyFromJwk, publicKeyToJwk, thumbprint } from '../../protocol/index.js';
import primitivesFile from '../../protocol/vectors/primitives.json' with { type: 'json' };
import { forEachProvider } from './providers.js';
import { vectorCases } from './vector-cases.js';

forEachProvider('protocol/vectors', () => {
  for (const [name, fn] of Object.entries(vectorCases)) it(name, fn);

  it('thumbprints match jose (RFC 7638) and JWK ⇄ raw round-trips', async () => {
    for (const t of primitivesFile.thumbprints) {
      const raw = fromHex(t.raw);
      expect(await thumbprint(raw)).to.equal(await calculateJwkThumbprint(publicKeyToJwk(raw), 'sha256'));
      expect(publicKeyFromJwk(publicKeyToJwk(raw))).to.deep.equal(raw);
    }
  });
});
