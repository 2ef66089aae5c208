// The SFS target id derived from its issuer (docs/protocol.md §7.1): the SFS accepts exactly the id the SDK
// derives from the endpoint URL in its configuration.
import { expect } from 'chai';
import { TargetSchema } from '../../protocol/index.js';
import { sfsIssuerFromEndpoint, sfsTargetId } from '../../protocol/mobile/index.js';

describe('protocol/mobile: SFS target id', () => {
  const cases: [string, string][] = [
    ['https://idp.example/sfs', 'idp.example:sfs'],
    ['http://127.0.0.1:3000/sfs', '127.0.0.1:3000:sfs'],
    ['https://example.com/auth/nextauth/sfs', 'example.com:auth:nextauth:sfs'],
    ['http://[::1]:3000/sfs', '1:3000:sfs'],
  ];
  for (const [issuer, id] of cases)
    it(`${issuer} → ${id}`, async () => {
      expect(await sfsTargetId(issuer)).to.equal(id);
    });

  it('keeps an over-long issuer valid and distinct', async () => {
    const a = await sfsTargetId(`https://example.com/${'a'.repeat(200)}/x/sfs`);
    const b = await sfsTargetId(`https://example.com/${'a'.repeat(200)}/y/sfs`);
    expect(a).not.to.equal(b);
    for (const id of [a, b]) expect(TargetSchema.safeParse({ kind: 'sfs', id }).success, id).to.equal(true);
  });

  it('finds the issuer behind the endpoint URL of an SDK configuration', () => {
    for (const [endpoint, issuer] of [
      ['ws://127.0.0.1:3000/sfs/mobile', 'http://127.0.0.1:3000/sfs'],
      ['wss://idp.example/sfs/mobile', 'https://idp.example/sfs'],
      ['wss://idp.example/auth/sfs/mobile/', 'https://idp.example/auth/sfs'],
    ] as const) {
      expect(sfsIssuerFromEndpoint(endpoint)).to.equal(issuer);
    }
  });
});
