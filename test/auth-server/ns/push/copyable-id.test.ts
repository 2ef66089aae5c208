import { expect } from 'chai';
import { randomToken } from '../../../../auth-server/common/clock.js';
import { copyableId } from '../../../../auth-server/ns/push/service.js';

describe('ns/push request ids', () => {
  it('never begin with "-" (a CLI would read the id as an option) and keep the 22-character format', () => {
    // 0xF8 makes the first base64url character '-' (62).
    const dashed = randomToken({ bytes: (n) => new Uint8Array(n).fill(0xf8) }, 16);
    expect(dashed[0]).to.equal('-');
    const id = copyableId(dashed);
    expect(id).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(id.slice(1)).to.equal(dashed.slice(1));
    expect(copyableId('abc_defghijklmnopqrs-u')).to.equal('abc_defghijklmnopqrs-u');
  });
});
