// The self-signed certificates of SAML keys must parse for every serial a random draw can give; a
// serial with a leading zero byte was once encoded non-minimally and OpenSSL refused the certificate.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { certificateBody, certificateFingerprint, selfSignedCertificate } from '../../../idp/saml/x509.js';

describe('idp/saml: self-signed certificates', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const make = (serial: Buffer) =>
    selfSignedCertificate({
      publicKey,
      privateKey,
      commonName: 'serial test',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      serial,
    });

  for (const [label, hex, expected] of [
    ['leading zero then a low byte', '007f0102030405060708090a0b0c0d0e', '7F0102030405060708090A0B0C0D0E'],
    ['two leading zeros', '00000102030405060708090a0b0c0d0e', '0102030405060708090A0B0C0D0E'],
    ['leading zero then a high byte', '00800102030405060708090a0b0c0d0e', '800102030405060708090A0B0C0D0E'],
    [
      'high first byte (kept positive)',
      'ff0102030405060708090a0b0c0d0e0f',
      'FF0102030405060708090A0B0C0D0E0F',
    ],
    ['plain', '410102030405060708090a0b0c0d0e0f', '410102030405060708090A0B0C0D0E0F'],
  ] as const) {
    it(`parses with serial ${label}`, () => {
      const pem = make(Buffer.from(hex, 'hex'));
      const cert = new X509Certificate(pem);
      expect(BigInt(`0x${cert.serialNumber}`)).to.equal(BigInt(`0x${expected}`));
      expect(cert.subject).to.equal('CN=serial test');
      expect(cert.verify(publicKey)).to.equal(true);
      expect(certificateBody(pem)).to.match(/^[A-Za-z0-9+/=]+$/);
      expect(certificateFingerprint(pem)).to.match(/^[0-9a-f]{64}$/);
    });
  }
});
