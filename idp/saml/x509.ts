// A self-signed X.509 v3 certificate (RFC 5280 §4.1) for a SAML key pair: SAML metadata carries keys as
// certificates, and Node can sign but not build one, so this writes the few DER structures it needs.
import { createHash, type KeyObject, sign } from 'node:crypto';

const tlv = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
/** A non-negative INTEGER in its one DER form: OpenSSL refuses a certificate whose serial keeps a
 * redundant leading zero byte, which a random serial has once in a few hundred draws. */
const integer = (bytes: Buffer) => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return tlv(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (bytes: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const nullValue = Buffer.from([0x05, 0x00]);

const oid = (dotted: string): Buffer => {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let v = part;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] = (chunk[i] ?? 0) | 0x80;
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
};

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
const time = (d: Date): Buffer => {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${iso}Z`, 'ascii'));
};

const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), nullValue);

export interface SelfSignedOptions {
  publicKey: KeyObject;
  privateKey: KeyObject;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** 16 bytes: the serial number (kept positive). */
  serial: Buffer;
}

/** PEM of a self-signed RSA certificate (sha256WithRSAEncryption). */
export function selfSignedCertificate(options: SelfSignedOptions): string {
  const name = seq(set(seq(oid('2.5.4.3'), utf8(options.commonName))));
  const spki = options.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(options.serial),
    sha256WithRsa,
    name,
    seq(time(options.notBefore), time(options.notAfter)),
    name,
    spki,
  );
  const signature = sign('sha256', tbs, options.privateKey);
  const der = seq(tbs, sha256WithRsa, bitString(signature));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** The certificate's base64 body, as `<ds:X509Certificate>` carries it. */
export function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
}

/** SHA-256 of the DER, hex: shown to administrators to compare with what an SP has configured. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256')
    .update(Buffer.from(certificateBody(pem), 'base64'))
    .digest('hex');
}
