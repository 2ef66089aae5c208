// Session cookie naming and attributes: per server, `__Host-` and Secure on https.
import { expect } from 'chai';
import { serializeSessionCookie, sessionCookieName } from '../../../../auth-server/ns/api/cookies.js';

describe('ns session cookie', () => {
  it('is named per virtual server, with __Host- on https', () => {
    expect(sessionCookieName('acme', false)).to.equal('nextauth_ns_acme');
    expect(sessionCookieName('acme', true)).to.equal('__Host-nextauth_ns_acme');
  });

  it('is httpOnly, SameSite=Lax, Path=/, and Secure only on https', () => {
    expect(serializeSessionCookie('n', 'v', { secure: true, maxAgeSeconds: 60 })).to.equal(
      'n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure',
    );
    expect(serializeSessionCookie('n', 'v', { secure: false, maxAgeSeconds: 60 })).to.not.contain('Secure');
  });
});
