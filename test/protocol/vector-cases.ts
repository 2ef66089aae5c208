// Vector replay cases (protocol/vectors/*.json), shared by the Node suite and the headless-Chromium bundle.
import { expect } from 'chai';
import { defaultCrypto, ecdsaVerify } from '../../protocol/crypto.js';
import { fromHex, hex } from '../../protocol/encoding.js';
import { recordNonce, successionFromJson, thumbprint } from '../../protocol/index.js';
import handshakeFile from '../../protocol/vectors/handshake.json' with { type: 'json' };
import primitivesFile from '../../protocol/vectors/primitives.json' with { type: 'json' };
import type { Case } from './cases.js';
import { type HandshakeVector, replayVector, successionInput } from './vectors.js';

const vectors = handshakeFile.vectors as unknown as HandshakeVector[];

export const vectorCases: Record<string, Case> = {};

for (const v of vectors) {
  vectorCases[`handshake vector: ${v.name}`] = () => replayVector(v);
}

vectorCases['primitive vectors: thumbprints, record nonces, succession signature'] = async () => {
  for (const t of primitivesFile.thumbprints) expect(await thumbprint(fromHex(t.raw))).to.equal(t.thumbprint);
  for (const n of primitivesFile.record_nonces)
    expect(hex(recordNonce(fromHex(n.iv), n.seq))).to.equal(n.nonce);
  const r = successionFromJson(primitivesFile.succession.record);
  const input = successionInput(r.old, r.new);
  expect(hex(input)).to.equal(primitivesFile.succession.signing_input);
  expect(await ecdsaVerify(defaultCrypto(), r.old, r.sig, input)).to.equal(true);
};
