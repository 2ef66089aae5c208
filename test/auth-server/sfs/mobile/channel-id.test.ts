// The SFS target id derived from its issuer: readable, always a valid target id (docs/protocol.md §7.1).
import { expect } from 'chai';
import { sfsChannelId } from '../../../../auth-server/sfs/keys/channel-identity.js';
import { TargetSchema } from '../../../../protocol/index.js';

describe('sfs/keys: SFS channel target id', () => {
  const cases: [string, string][] = [
    ['https://idp.example/sfs', 'idp.example:sfs'],
    ['http://127.0.0.1:3000/sfs', '127.0.0.1:3000:sfs'],
    ['https://example.com/auth/nextauth/sfs', 'example.com:auth:nextauth:sfs'],
    ['http://[::1]:3000/sfs', '1:3000:sfs'],
  ];
  for (const [issuer, id] of cases)
    it(`${issuer} → ${id}`, () => {
      expect(sfsChannelId(issuer)).to.equal(id);
    });

  it('keeps an over-long issuer valid and distinct', () => {
    const a = sfsChannelId(`https://example.com/${'a'.repeat(200)}/x/sfs`);
    const b = sfsChannelId(`https://example.com/${'a'.repeat(200)}/y/sfs`);
    expect(a).not.to.equal(b);
    for (const id of [a, b]) expect(TargetSchema.safeParse({ kind: 'sfs', id }).success, id).to.equal(true);
  });
});
