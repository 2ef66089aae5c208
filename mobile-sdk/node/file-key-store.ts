// Node "virtual phone" key store: P-256 and HMAC keys in `<home>/keys.json`, sealed with AES-256-GCM under a
// device secret in `<home>/device.key`. For tests, demos and load generators; a phone uses its OS keystore.
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  type CryptoProvider,
  defaultCrypto,
  ECDH_P256,
  ECDSA_P256,
  ecdh,
  ecdsaSign,
  hkdfSha256,
  hmacSign,
  importAesGcmKey,
  type SecretKey,
} from '../../protocol/crypto.js';
import { type Bytes, b64u, equalBytes, fromB64u, fromUtf8, utf8 } from '../../protocol/encoding.js';
import type { PublicJwk } from '../../protocol/keys.js';
import { KEY_ALIAS_PATTERN, type KeyKind, type KeyStore, KeyStoreError } from '../core/ports.js';
import { writeFileAtomic } from './atomic-file.js';
import { LockTimeoutError, withFileLock } from './file-lock.js';

const DEVICE_KEY_BYTES = 32;
const FORMAT = 'nextauth-device-keys';
const b64uField = z.string().regex(/^[A-Za-z0-9_-]*$/);

/** The outer file: everything but `sealed` is public and bound to the ciphertext as AAD. */
const fileSchema = z
  .object({
    format: z.literal(FORMAT),
    v: z.literal(1),
    kdf: z.literal('hkdf-sha256'),
    salt: b64uField,
    check: b64uField,
    nonce: b64uField,
    sealed: b64uField,
  })
  .strict();
type SealedFile = z.output<typeof fileSchema>;

const privateJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string(),
});
const entrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ecdsa-p256'), jwk: privateJwkSchema }),
  z.object({ kind: z.literal('ecdh-p256'), jwk: privateJwkSchema }),
  z.object({ kind: z.literal('hmac-sha256'), k: b64uField }),
]);
type Entry = z.output<typeof entrySchema>;
const plainSchema = z.object({ keys: z.record(z.string(), entrySchema) });

interface State {
  salt: string;
  keys: Map<string, Entry>;
}

export interface FileKeyStoreOptions {
  /** The device's home directory (`nextauth-device --home DIR`); created with mode 0700 if absent. */
  home: string;
  crypto?: CryptoProvider;
  /** How long to wait for another process's lock on keys.json (default 10 s). */
  lockTimeoutMs?: number;
}

/**
 * The device secret is 32 random bytes, so the sealing key comes from HKDF, not a slow password hash: a slow
 * KDF only helps against guessing a low-entropy secret, and 2^256 cannot be guessed. What protects the keys
 * is the secrecy of device.key (mode 0600), as a phone's keystore protects its own wrapping key.
 */
export class FileKeyStore implements KeyStore {
  readonly hardwareBacked = false;
  private readonly keysPath: string;
  private readonly deviceKeyPath: string;
  private readonly c: CryptoProvider;
  private cache: { raw: string; state: State; imported: Map<string, CryptoKey> } | undefined;

  constructor(private readonly options: FileKeyStoreOptions) {
    this.keysPath = join(options.home, 'keys.json');
    this.deviceKeyPath = join(options.home, 'device.key');
    this.c = options.crypto ?? defaultCrypto();
  }

  async generate(alias: string, kind: KeyKind = 'ecdsa-p256'): Promise<void> {
    checkAlias(alias);
    await this.mutate(async (state) => {
      if (state.keys.has(alias)) throw new KeyStoreError('exists', `key "${alias}" already exists`);
      state.keys.set(alias, await this.newEntry(kind));
    });
  }

  async has(alias: string): Promise<boolean> {
    checkAlias(alias);
    return (await this.read()).state.keys.has(alias);
  }

  async sign(alias: string, data: Bytes): Promise<Bytes> {
    const { entry, key } = await this.privateKey(alias);
    if (entry.kind === 'ecdh-p256') throw new KeyStoreError('wrong_kind', `key "${alias}" cannot sign`);
    return entry.kind === 'ecdsa-p256' ? ecdsaSign(this.c, key, data) : hmacSign(this.c, key, data);
  }

  async agree(alias: string, peerPublicKey: Bytes): Promise<Bytes> {
    const { entry, key } = await this.privateKey(alias);
    if (entry.kind !== 'ecdh-p256') throw new KeyStoreError('wrong_kind', `key "${alias}" is no ECDH key`);
    return ecdh(this.c, key, peerPublicKey);
  }

  async publicJwk(alias: string): Promise<PublicJwk> {
    const entry = await this.entry(alias);
    if (entry.kind === 'hmac-sha256')
      throw new KeyStoreError('wrong_kind', `key "${alias}" has no public key`);
    return { kty: 'EC', crv: 'P-256', x: entry.jwk.x, y: entry.jwk.y };
  }

  async delete(alias: string): Promise<void> {
    checkAlias(alias);
    await this.mutate(async (state) => {
      state.keys.delete(alias);
    });
  }

  private async entry(alias: string): Promise<Entry> {
    checkAlias(alias);
    const entry = (await this.read()).state.keys.get(alias);
    if (!entry) throw new KeyStoreError('not_found', `no key "${alias}"`);
    return entry;
  }

  /** Imported once per version of keys.json, as a non-extractable CryptoKey. */
  private async privateKey(alias: string): Promise<{ entry: Entry; key: CryptoKey }> {
    checkAlias(alias);
    const view = await this.read();
    const entry = view.state.keys.get(alias);
    if (!entry) throw new KeyStoreError('not_found', `no key "${alias}"`);
    let key = view.imported.get(alias);
    if (!key) {
      key =
        entry.kind === 'ecdsa-p256'
          ? await this.c.subtle.importKey('jwk', entry.jwk, ECDSA_P256, false, ['sign'])
          : entry.kind === 'ecdh-p256'
            ? await this.c.subtle.importKey('jwk', entry.jwk, ECDH_P256, false, ['deriveBits'])
            : await this.c.subtle.importKey(
                'raw',
                fromB64u(entry.k),
                { name: 'HMAC', hash: 'SHA-256' },
                false,
                ['sign'],
              );
      view.imported.set(alias, key);
    }
    return { entry, key };
  }

  private async newEntry(kind: KeyKind): Promise<Entry> {
    const subtle = this.c.subtle;
    // Extractable only so that the key can be sealed into keys.json; it is used through a re-imported,
    // non-extractable copy.
    if (kind === 'hmac-sha256') {
      const key = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
      return { kind, k: b64u(new Uint8Array(await subtle.exportKey('raw', key))) };
    }
    const pair = (
      kind === 'ecdh-p256'
        ? await subtle.generateKey(ECDH_P256, true, ['deriveBits'])
        : await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])
    ) as CryptoKeyPair;
    const jwk = await subtle.exportKey('jwk', pair.privateKey);
    if (!jwk.x || !jwk.y || !jwk.d) throw new Error('WebCrypto exported an incomplete P-256 key');
    return { kind, jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d } };
  }

  /** The current keys, from the cache while keys.json is unchanged (other instances may have written it). */
  private async read(): Promise<{ state: State; imported: Map<string, CryptoKey> }> {
    const raw = await readFile(this.keysPath, 'utf8').catch(ifMissing(undefined));
    if (raw === undefined) return { state: { salt: '', keys: new Map() }, imported: new Map() };
    if (this.cache?.raw === raw) return this.cache;
    const deviceKey = await this.readDeviceKey();
    if (!deviceKey)
      throw new KeyStoreError(
        'device_key_missing',
        `${this.keysPath} exists but ${this.deviceKeyPath} is missing: its keys cannot be opened`,
      );
    const state = await this.open(raw, deviceKey);
    this.cache = { raw, state, imported: new Map() };
    return this.cache;
  }

  private async mutate(change: (state: State) => Promise<void>): Promise<void> {
    await mkdir(this.options.home, { recursive: true, mode: 0o700 });
    try {
      await withFileLock(
        this.keysPath,
        async () => {
          const deviceKey = await this.deviceKeyForWrite();
          const { state } = await this.read();
          const next: State = { salt: state.salt || b64u(this.c.random(16)), keys: new Map(state.keys) };
          await change(next);
          const raw = `${JSON.stringify(await this.seal(next, deviceKey))}\n`;
          await writeFileAtomic(this.keysPath, raw, 0o600);
          this.cache = { raw, state: next, imported: new Map() };
        },
        { timeoutMs: this.options.lockTimeoutMs ?? 10_000 },
      );
    } catch (err) {
      if (err instanceof LockTimeoutError) throw new KeyStoreError('busy', err.message);
      throw err;
    }
  }

  private async readDeviceKey(): Promise<Bytes | undefined> {
    const bytes = await readFile(this.deviceKeyPath).catch(ifMissing(undefined));
    if (bytes === undefined) return undefined;
    if (bytes.length !== DEVICE_KEY_BYTES)
      throw new KeyStoreError('wrong_device_key', `${this.deviceKeyPath} is not ${DEVICE_KEY_BYTES} bytes`);
    return new Uint8Array(bytes);
  }

  /** Creates device.key on first write, complete or not at all (temp file + link, which fails if it exists). */
  private async deviceKeyForWrite(): Promise<Bytes> {
    const existing = await this.readDeviceKey();
    if (existing) return existing;
    const hasKeys = await readFile(this.keysPath).then(() => true, ifMissing(false));
    if (hasKeys)
      throw new KeyStoreError(
        'device_key_missing',
        `${this.deviceKeyPath} is missing: keys.json cannot be opened`,
      );
    const tmp = `${this.deviceKeyPath}.${b64u(this.c.random(6))}.tmp`;
    await writeFileAtomic(tmp, this.c.random(DEVICE_KEY_BYTES), 0o600);
    try {
      await link(tmp, this.deviceKeyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    return (await this.readDeviceKey()) as Bytes;
  }

  private async keys(deviceKey: Bytes, salt: string): Promise<{ seal: SecretKey; check: Bytes }> {
    const saltBytes = fromB64u(salt);
    const sealRaw = await hkdfSha256(this.c, deviceKey, saltBytes, utf8(`${FORMAT}/v1 seal`), 32);
    const check = await hkdfSha256(this.c, deviceKey, saltBytes, utf8(`${FORMAT}/v1 check`), 32);
    return { seal: await importAesGcmKey(this.c, sealRaw), check };
  }

  private async seal(state: State, deviceKey: Bytes): Promise<SealedFile> {
    const { seal, check } = await this.keys(deviceKey, state.salt);
    const nonce = this.c.random(12);
    const plain = utf8(JSON.stringify({ keys: Object.fromEntries(state.keys) }));
    const sealed = await aesGcmEncrypt(this.c, seal, nonce, aad(state.salt), plain);
    return {
      format: FORMAT,
      v: 1,
      kdf: 'hkdf-sha256',
      salt: state.salt,
      check: b64u(check),
      nonce: b64u(nonce),
      sealed: b64u(sealed),
    };
  }

  private async open(raw: string, deviceKey: Bytes): Promise<State> {
    const tampered = () =>
      new KeyStoreError('tampered', `${this.keysPath} was modified outside the key store`);
    let file: SealedFile;
    let salt: Bytes;
    try {
      file = fileSchema.parse(JSON.parse(raw));
      salt = fromB64u(file.salt);
    } catch {
      throw tampered();
    }
    if (salt.length !== 16) throw tampered();
    const { seal, check } = await this.keys(deviceKey, file.salt);
    let fileCheck: Bytes;
    try {
      fileCheck = fromB64u(file.check);
    } catch {
      throw tampered();
    }
    if (!equalBytes(check, fileCheck))
      throw new KeyStoreError(
        'wrong_device_key',
        `${this.keysPath} was sealed under another ${this.deviceKeyPath}`,
      );
    try {
      const plain = await aesGcmDecrypt(
        this.c,
        seal,
        fromB64u(file.nonce),
        aad(file.salt),
        fromB64u(file.sealed),
      );
      const { keys } = plainSchema.parse(JSON.parse(fromUtf8(plain)));
      return { salt: file.salt, keys: new Map(Object.entries(keys)) };
    } catch {
      throw tampered();
    }
  }
}

/** The header fields that are not secret, bound to the ciphertext so none of them can be swapped. */
function aad(salt: string): Bytes {
  return utf8(`${FORMAT}/v1/hkdf-sha256/${salt}`);
}

function checkAlias(alias: string): void {
  if (!KEY_ALIAS_PATTERN.test(alias)) throw new KeyStoreError('invalid_alias', 'invalid key alias');
}

function ifMissing<T>(value: T): (err: unknown) => T {
  return (err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return value;
    throw err;
  };
}
