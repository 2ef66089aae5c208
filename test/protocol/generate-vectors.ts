// Writes protocol/vectors/*.json: `npx tsx test/protocol/generate-vectors.ts`. Fixed keys, ephemerals and nonces;
// only the ECDSA signatures are fresh on each run (WebCrypto signs with a random k) — replay uses the recorded ones.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultCrypto } from '../../protocol/crypto.js';
import { type Bytes, b64u, concat, fromB64u, hex } from '../../protocol/encoding.js';
import {
  createSuccessionRecord,
  recordNonce,
  type Signer,
  SUITE_AES128,
  SUITE_AES256,
  successionToJson,
  thumbprint,
} from '../../protocol/index.js';
import { buildVector, type PrivateJwk, successionInput } from './vectors.js';

/** Test-only keys: never use them for anything else. */
const keys: Record<string, PrivateJwk> = {
  clientIdentity: {
    kty: 'EC',
    crv: 'P-256',
    x: 'Z6dHYtT-MESj9UKzYKJ3aFjepC2VZZgRFsnaYk1ymjU',
    y: 'zSHaOgBEAy5-j2dfCgAuWtwY9nnYslqfFA-o7eRAIqs',
    d: 'RVt0xlmyyu0bgiEI-EChrT7PVYo9iGNFkz5s0SkSFj4',
  },
  serverIdentityOld: {
    kty: 'EC',
    crv: 'P-256',
    x: 'YrO4aVtZavkFKIzQ-G4pc8_-52GIR1hyREpfo_6yuKg',
    y: 'CA2DbA0zoyDZlQt8rdtO7fIKegwtoS5wiWSdEhZjrWs',
    d: 'r5fz_YRFkqdzaPIsUlSc9TO1He0psij0jZrKlMh8d9E',
  },
  serverIdentity: {
    kty: 'EC',
    crv: 'P-256',
    x: 'xU-xPK2Y4cqDbi3j2y0fuji_rU-jVIQslGehbxGZkV0',
    y: '_Skbh0dmixnK-Sp2XEnbpzRVQVEDr3VmftwnnaC2ztY',
    d: 'DI4ZWumjB_T2YjCKl_YMeXcOdkcWkTTJhSDD-jrLXZA',
  },
  clientEphemeral: {
    kty: 'EC',
    crv: 'P-256',
    x: 'bSXjnG2q7qqgV7_c7sB4bs9xUOcNsdLis-bLHmyKc4o',
    y: 'KkO3gDlelANbxTLUIaSJ0LpZsqX3DBcdV0R1DrJDdY4',
    d: 'NBssbPX8B0UeEePtoI1y_sOBODq4cueyuhRHyslh_4o',
  },
  serverEphemeral: {
    kty: 'EC',
    crv: 'P-256',
    x: 'wm3MouJ-XoMJIwEo9fhse34T25k8ABs-zB-PJzEiL8c',
    y: '3nPMqjw9Fwrg96XIexyC7WcTbMv-T3edEvS-aClZxmE',
    d: 'bT8l5vBw-8qPzu_xtAako1Sq1McYIwvVTq7CrtU0nYc',
  },
};

const raw = (j: PrivateJwk): Bytes => concat(Uint8Array.of(4), fromB64u(j.x), fromB64u(j.y));
const k = (name: string) => keys[name] as PrivateJwk;

async function signerOf(jwk: PrivateJwk): Promise<Signer> {
  const c = defaultCrypto();
  const key = await c.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return {
    publicKey: raw(jwk),
    sign: async (data) => new Uint8Array(await c.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data)),
  };
}

const records = [
  { dir: 'c2s' as const, json: { t: 'req', id: 1, type: 'echo', body: { text: 'hello' } } },
  { dir: 's2c' as const, json: { t: 'res', id: 1, body: { text: 'HELLO' } } },
  { dir: 's2c' as const, json: { t: 'push', type: 'challenge', body: { nonce: 'n-1' } } },
];

const succession = await createSuccessionRecord(
  await signerOf(k('serverIdentityOld')),
  raw(k('serverIdentity')),
);

const handshake = [
  await buildVector({
    name: 'authenticated client, server key pinned directly',
    target: { kind: 'ns', id: 'default' },
    offer: { v: [1], suites: [SUITE_AES256.id] },
    accept: { v: [1], suites: [SUITE_AES256.id] },
    clientIdentity: k('clientIdentity'),
    serverIdentity: k('serverIdentity'),
    clientEphemeral: k('clientEphemeral'),
    serverEphemeral: k('serverEphemeral'),
    clientNonce: `${'00'.repeat(31)}01`,
    serverNonce: `${'00'.repeat(31)}02`,
    succession: [],
    pin: { keys: [b64u(raw(k('serverIdentity')))] },
    records,
  }),
  await buildVector({
    name: 'anonymous client (enrolment), old server key pinned by fingerprint, one succession record',
    target: { kind: 'ns', id: 'default' },
    offer: { v: [1], suites: [SUITE_AES256.id, SUITE_AES128.id] },
    accept: { v: [1], suites: [SUITE_AES256.id, SUITE_AES128.id] },
    clientIdentity: null,
    serverIdentity: k('serverIdentity'),
    clientEphemeral: k('clientEphemeral'),
    serverEphemeral: k('serverEphemeral'),
    clientNonce: 'aa'.repeat(32),
    serverNonce: 'bb'.repeat(32),
    succession: [successionToJson(succession)],
    pin: { fingerprints: [await thumbprint(raw(k('serverIdentityOld')))] },
    records: records.slice(0, 2),
  }),
  await buildVector({
    name: 'AES-128-GCM suite (opt-in), sfs target',
    target: { kind: 'sfs', id: 'sfs-1' },
    offer: { v: [1], suites: [SUITE_AES128.id] },
    accept: { v: [1], suites: [SUITE_AES256.id, SUITE_AES128.id] },
    clientIdentity: k('clientIdentity'),
    serverIdentity: k('serverIdentity'),
    clientEphemeral: k('clientEphemeral'),
    serverEphemeral: k('serverEphemeral'),
    clientNonce: '11'.repeat(32),
    serverNonce: '22'.repeat(32),
    succession: [],
    pin: { keys: [b64u(raw(k('serverIdentity')))] },
    records: records.slice(0, 1),
  }),
];

const iv = '000102030405060708090a0b';
const primitives = {
  thumbprints: await Promise.all(
    ['clientIdentity', 'serverIdentity', 'serverIdentityOld'].map(async (name) => ({
      name,
      raw: hex(raw(k(name))),
      jwk: { kty: 'EC', crv: 'P-256', x: k(name).x, y: k(name).y },
      thumbprint: await thumbprint(raw(k(name))),
    })),
  ),
  record_nonces: [0, 1, 255, 2 ** 32 + 1, 2 ** 53 - 1].map((seq) => ({
    iv,
    seq,
    nonce: hex(recordNonce(Uint8Array.from(Buffer.from(iv, 'hex')), seq)),
  })),
  succession: {
    record: successionToJson(succession),
    signing_input: hex(successionInput(succession.old, succession.new)),
  },
};

const dir = fileURLToPath(new URL('../../protocol/vectors/', import.meta.url));
const header = {
  description:
    'nextAuth secure channel test vectors (docs/protocol.md §12). Hex unless noted; JWKs are test-only keys.',
  generator: 'npx tsx test/protocol/generate-vectors.ts',
};
writeFileSync(`${dir}handshake.json`, `${JSON.stringify({ ...header, vectors: handshake }, null, 2)}\n`);
writeFileSync(`${dir}primitives.json`, `${JSON.stringify({ ...header, ...primitives }, null, 2)}\n`);
console.log(`wrote ${handshake.length} handshake vectors and primitives to ${dir}`);
