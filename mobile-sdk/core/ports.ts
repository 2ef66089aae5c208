// What each platform supplies to the SDK core (DESIGN.md §1): key store, storage, prompts, biometrics.
import type { Bytes } from '../../protocol/encoding.js';
import type { PublicJwk } from '../../protocol/keys.js';

/**
 * `ecdsa-p256`: identity keys (app instance, accounts); `sign` returns r ‖ s (64 bytes, IEEE P1363).
 * `hmac-sha256`: the device PIN key (DESIGN.md §6); `sign` returns the 32-byte MAC.
 */
export type KeyKind = 'ecdsa-p256' | 'hmac-sha256';

/** Aliases name keys in every store; kept to a safe alphabet so platforms can use them as file or keychain names. */
export const KEY_ALIAS_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Private keys live here and never leave it: callers get signatures and public keys only. A phone backs this
 * with its OS keystore (Android Keystore / StrongBox, iOS Secure Enclave + Keychain); the Node adapter is a
 * file sealed under a device secret (a "virtual phone" for tests and demos).
 */
export interface KeyStore {
  /** True where private keys sit in dedicated hardware; decides whether `amr` may say `hwk`. */
  readonly hardwareBacked: boolean;
  /** Creates a key; fails with `exists` if the alias is taken, so a key is never silently replaced. */
  generate(alias: string, kind?: KeyKind): Promise<void>;
  has(alias: string): Promise<boolean>;
  sign(alias: string, data: Bytes): Promise<Bytes>;
  /** The public key of an `ecdsa-p256` key (`wrong_kind` for HMAC keys, which have none). */
  publicJwk(alias: string): Promise<PublicJwk>;
  /** Removes the key; deleting an absent alias is not an error. */
  delete(alias: string): Promise<void>;
}

export const keyStoreErrorCodes = [
  'invalid_alias',
  'not_found',
  'exists',
  'wrong_kind',
  /** The sealed store does not authenticate or parse: it was changed outside the key store. */
  'tampered',
  /** The store was sealed under another device secret. */
  'wrong_device_key',
  /** A sealed store exists but its device secret is gone: its keys cannot be recovered. */
  'device_key_missing',
  /** Another process held the store's lock for too long. */
  'busy',
] as const;
export type KeyStoreErrorCode = (typeof keyStoreErrorCodes)[number];

export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
  constructor(
    readonly code: KeyStoreErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Small JSON documents (accounts, history, the SDK configuration); the core validates what it reads with zod. */
export interface Storage {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
}

export type PinPurpose = 'set' | 'confirm_new' | 'login' | 'transaction' | 'change_old';

/** The user in front of the device. The PIN is handed straight to `pinProof`, never stored or logged. */
export interface Prompts {
  askPin(request: { purpose: PinPurpose; message: string; attemptsLeft?: number }): Promise<string>;
  /** A yes/no decision on what `message` shows (login context, transaction data, a location warning). */
  confirm(request: { message: string; details?: Readonly<Record<string, string>> }): Promise<boolean>;
}

/** How one biometric prompt ended. */
export type BiometricResult = 'success' | 'failed' | 'cancelled' | 'unavailable';

/**
 * Platform biometrics (Android BiometricPrompt, iOS LocalAuthentication). The SDK binds its biometric key to
 * the enrolled set it saw at ADD_BIOMETRICS (`enrolmentId`) and treats the key as invalidated once the set
 * changed — what Android's `setInvalidatedByBiometricEnrollment(true)` and iOS's
 * `.biometryCurrentSet` do to the key itself; a platform adapter may derive the id from
 * `LAContext.evaluatedPolicyDomainState` or from the key's own invalidation.
 */
export interface Biometrics {
  /** True when the device has a biometric sensor and at least one biometric is enrolled. */
  available(): Promise<boolean>;
  /** An opaque id of the currently enrolled biometric set: it changes when one is added or removed; null when none. */
  enrolmentId(): Promise<string | null>;
  /** Shows the platform prompt with `reason`; `success` only after a biometric match. */
  authenticate(reason: string): Promise<BiometricResult>;
}

/** No biometrics (the browser build, and any platform that supplies none): flows use the PIN. */
export const noBiometrics: Biometrics = {
  available: async () => false,
  enrolmentId: async () => null,
  authenticate: async () => 'unavailable',
};
