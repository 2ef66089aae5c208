// return_to of the front-door login: only the IdP's own origin by default (or what the caller's host rule
// allows), and none of the tricks that make a URL look like one site and go to another.
import { expect } from 'chai';
import { maxReturnToLength, returnToPolicy } from '../../../idp/session/return-to.js';

describe('idp/session return_to policy', () => {
  const policy = returnToPolicy({ publicUrl: 'https://idp.example.com' });

  it('allows paths and absolute URLs of the public origin, resolved to absolute URLs', () => {
    expect(policy('/')).to.equal('https://idp.example.com/');
    expect(policy('/demo?x=1#top')).to.equal('https://idp.example.com/demo?x=1#top');
    expect(policy('https://idp.example.com/saml/default/sso?SAMLRequest=abc')).to.equal(
      'https://idp.example.com/saml/default/sso?SAMLRequest=abc',
    );
    expect(policy('HTTPS://IDP.EXAMPLE.COM/a')).to.equal('https://idp.example.com/a');
    expect(policy('https://idp.example.com:443/a')).to.equal('https://idp.example.com/a');
  });

  const rejected: Array<[string, string]> = [
    ['protocol-relative', '//evil.example/'],
    ['protocol-relative with three slashes', '///evil.example/'],
    ['another origin', 'https://evil.example/'],
    ['a sibling host', 'https://app.example.com/'],
    ['plain http of the same host', 'http://idp.example.com/'],
    ['another port', 'https://idp.example.com:8443/'],
    ['javascript:', 'javascript:alert(1)'],
    ['JavaScript: in capitals', 'JavaScript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a backslash path', '/\\evil.example/'],
    ['backslashes as slashes', 'https:\\\\evil.example'],
    ['a backslash after the host', 'https://idp.example.com\\@evil.example/'],
    ['userinfo that looks like the host', 'https://idp.example.com@evil.example/'],
    ['userinfo on the right host', 'https://user:pass@idp.example.com/'],
    ['a tab that browsers strip', '/\t/evil.example/'],
    ['a newline', '/\n/evil.example/'],
    ['a leading space', ' https://idp.example.com/'],
    ['a relative path without a slash', 'evil.example/'],
    ['a scheme-less host', 'evil.example'],
    ['empty', ''],
    ['too long', `/${'a'.repeat(maxReturnToLength)}`],
    ['a C1 control character', '/\u0085/evil.example'],
  ];
  for (const [what, value] of rejected) {
    it(`refuses ${what}`, () => {
      expect(policy(value)).to.equal(undefined);
    });
  }

  it('asks the caller rule for other hosts, never for malformed or userinfo URLs', () => {
    const asked: string[] = [];
    const wide = returnToPolicy({
      publicUrl: 'https://idp.example.com',
      allowHost: (url) => {
        asked.push(url.href);
        return url.protocol === 'https:' && url.hostname.endsWith('.example.com');
      },
    });
    expect(wide('https://app.example.com/x')).to.equal('https://app.example.com/x');
    expect(wide('https://evil.example/')).to.equal(undefined);
    expect(wide('https://a@app.example.com/')).to.equal(undefined);
    expect(wide('//app.example.com/')).to.equal(undefined);
    expect(wide('https:\\\\app.example.com')).to.equal(undefined);
    expect(asked).to.deep.equal(['https://app.example.com/x', 'https://evil.example/']);
  });
});
