// Handshake transcript (docs/protocol.md §7.2): tagged, length-prefixed entries; signed, MACed and hashed.
import { type CryptoProvider, sha256 } from '../crypto.js';
import { type Bytes, concat, u32be } from '../encoding.js';

/** Transcript entry tags, in the order they are appended. */
export const Entry = {
  clientHello: 0x01,
  serverHello: 0x02,
  serverIdentity: 0x03,
  serverSignature: 0x04,
  serverMac: 0x05,
  clientIdentity: 0x06,
  clientSignature: 0x07,
  clientMac: 0x08,
} as const;

export class Transcript {
  private readonly parts: Bytes[] = [];
  private lastTag = 0;

  /** Appends `tag ‖ u32be(len) ‖ bytes`; tags must come in strictly increasing order. */
  add(tag: number, bytes: Bytes): void {
    if (tag <= this.lastTag) throw new Error(`transcript entry ${tag} out of order`);
    this.lastTag = tag;
    this.parts.push(Uint8Array.of(tag), u32be(bytes.length), bytes);
  }

  /** T_n: all entries so far (what the identity signatures and the MACs cover). */
  bytes(): Bytes {
    return concat(...this.parts);
  }

  /** TH_n = SHA-256(T_n): the key-schedule salts and the exported binding value. */
  hash(c: CryptoProvider): Promise<Bytes> {
    return sha256(c, this.bytes());
  }
}
