// Protocol versions and cipher suites (docs/protocol.md §6): what can be negotiated, in preference order.

export const PROTOCOL_VERSION = 1;
/** Versions this implementation speaks, most preferred first. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

export interface CipherSuite {
  readonly id: string;
  /** AES-GCM key length in bytes. Every suite: ECDH P-256, ECDSA P-256/SHA-256, HKDF-SHA256, 96-bit IV, 128-bit tag. */
  readonly aesKeyLength: 16 | 32;
}

export const SUITE_AES256: CipherSuite = { id: 'NXA1_P256_SHA256_AES256GCM', aesKeyLength: 32 };
/** Known but not offered or accepted by default (only enabled explicitly, e.g. by the downgrade tests). */
export const SUITE_AES128: CipherSuite = { id: 'NXA1_P256_SHA256_AES128GCM', aesKeyLength: 16 };

export const KNOWN_SUITES: readonly CipherSuite[] = [SUITE_AES256, SUITE_AES128];
/** Default offer / acceptance list, most preferred first. */
export const DEFAULT_SUITES: readonly string[] = [SUITE_AES256.id];

export function suiteById(id: string): CipherSuite | undefined {
  return KNOWN_SUITES.find((s) => s.id === id);
}

/** The server's choice: its first preference that the client offered (docs/protocol.md §6). */
export function negotiate<T>(serverPreference: readonly T[], clientOffer: readonly T[]): T | undefined {
  return serverPreference.find((x) => clientOffer.includes(x));
}
