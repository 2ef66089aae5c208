// `nextauth://transaction?d=…`: what a transaction QR carries (ids only) and what the phone refuses to read.
import { expect } from 'chai';
import { b64u, utf8 } from '../../../protocol/encoding.js';
import { loginUri, parseTransactionUri, transactionUri } from '../../../protocol/mobile/uris.js';

describe('transaction URIs', () => {
  const data = { v: 1 as const, ns: 'https://id.example.test', s: 'bank', t: 'A'.repeat(22) };
  const raw = (json: unknown) => `nextauth://transaction?d=${b64u(utf8(JSON.stringify(json)))}`;

  it('round-trips NS URL, server and transaction id', () => {
    const uri = transactionUri(data);
    expect(uri).to.match(/^nextauth:\/\/transaction\?d=[A-Za-z0-9_-]+$/);
    expect(parseTransactionUri(uri)).to.deep.equal(data);
  });

  it('refuses other URI kinds, malformed data, unknown members and bad ids', () => {
    const bad = [
      loginUri({ v: 1, ns: data.ns, s: data.s, c: 'c'.repeat(22) }),
      'nextauth://transaction?d=%%%',
      'nextauth://transaction?d=e30',
      raw({ ...data, amount: '1.00' }),
      raw({ ...data, t: 'short' }),
      raw({ ...data, v: 2 }),
      raw({ ...data, ns: 'not a url' }),
      `nextauth://transaction?d=${'A'.repeat(2100)}`,
    ];
    for (const uri of bad) expect(() => parseTransactionUri(uri), uri.slice(0, 60)).to.throw(TypeError);
  });
});
