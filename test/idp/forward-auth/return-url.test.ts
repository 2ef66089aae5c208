import { expect } from 'chai';
import { originalRequest } from '../../../idp/forward-auth/original-request.js';
import { forwardAuthHosts, safeReturnUrl } from '../../../idp/forward-auth/return-url.js';

describe('forward-auth: return URL safety (no open redirect)', () => {
  const scope = { publicUrl: 'https://auth.example.com', cookieDomain: '.example.com' };

  it('accepts the public host and hosts under the cookie domain', () => {
    expect(safeReturnUrl('https://auth.example.com/x', scope)).to.equal('https://auth.example.com/x');
    expect(safeReturnUrl('https://app.example.com/a?b=1#c', scope)).to.equal(
      'https://app.example.com/a?b=1#c',
    );
    expect(safeReturnUrl('https://example.com/', scope)).to.equal('https://example.com/');
    expect(safeReturnUrl('https://APP.Example.COM:8443/', scope)).to.equal('https://app.example.com:8443/');
  });

  const attempts: [string, string][] = [
    ['another host', 'https://evil.org/'],
    ['a look-alike suffix', 'https://evilexample.com/'],
    ['the domain as a prefix', 'https://example.com.evil.org/'],
    ['protocol-relative', '//evil.org/'],
    ['protocol-relative with backslash', '/\\evil.org/'],
    ['backslashes', 'https:\\\\evil.org\\'],
    ['a backslash before the host', 'https://evil.org\\@app.example.com/'],
    ['userinfo', 'https://app.example.com@evil.org/'],
    ['userinfo on an allowed host', 'https://user:pw@app.example.com/'],
    ['javascript:', 'javascript:alert(1)//app.example.com'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a relative path', '/dashboard'],
    ['http under an https public URL', 'http://app.example.com/'],
    ['a tab in the scheme', 'ht\ttps://evil.org/'],
    ['a newline', 'https://app.example.com/\nLocation: https://evil.org/'],
    ['leading whitespace', ' https://evil.org/'],
    ['an empty host', 'https:///evil.org/'],
    ['too long', `https://app.example.com/${'a'.repeat(5000)}`],
  ];
  for (const [what, url] of attempts) {
    it(`refuses ${what}`, () => {
      expect(safeReturnUrl(url, scope)).to.equal(undefined);
      const parsed = URL.parse(url);
      // The login page refuses whitespace and backslashes before it parses (idp/session/return-to.ts).
      if (parsed && !/[\s\\]/.test(url))
        expect(forwardAuthHosts(scope)(parsed), 'as the login page asks').to.equal(false);
    });
  }

  it('without a cookie domain only the public host (cookie is host-only)', () => {
    const hostOnly = { publicUrl: 'http://127.0.0.1:3000' };
    expect(safeReturnUrl('http://127.0.0.1:8080/app', hostOnly)).to.equal('http://127.0.0.1:8080/app');
    expect(safeReturnUrl('http://app.example.com/', hostOnly)).to.equal(undefined);
    expect(safeReturnUrl('http://localhost:3000/', hostOnly)).to.equal(undefined);
  });
});

describe('forward-auth: the original request from proxy headers', () => {
  it('Traefik / Caddy: X-Forwarded-Proto, -Host, -Uri, -Method', () => {
    const r = originalRequest(
      {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'App.Example.com:8443',
        'x-forwarded-uri': '/a/b%20c/../d?x=1',
        'x-forwarded-method': 'post',
      },
      'GET',
    );
    expect(r).to.not.have.property('problem');
    if ('problem' in r) return;
    expect(r.url.href).to.equal('https://app.example.com:8443/a/d?x=1');
    expect(r).to.include({ host: 'app.example.com', path: '/a/d', method: 'POST', nginx: false });
  });

  it('nginx: X-Original-URL and X-Original-Method', () => {
    const r = originalRequest(
      { 'x-original-url': 'http://app.test/x%2Fy', 'x-original-method': 'DELETE' },
      'GET',
    );
    if ('problem' in r) throw new Error(r.problem);
    expect(r).to.include({ host: 'app.test', path: '/x/y', method: 'DELETE', nginx: true });
  });

  it('a path starting with // stays on the forwarded host', () => {
    const r = originalRequest(
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.test', 'x-forwarded-uri': '//evil.org/x' },
      'GET',
    );
    if ('problem' in r) throw new Error(r.problem);
    expect(r.url.host).to.equal('app.test');
  });

  it('encoded dot segments are resolved before rules see the path', () => {
    const r = originalRequest(
      {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.test',
        'x-forwarded-uri': '/public/%2e%2e/admin',
      },
      'GET',
    );
    if ('problem' in r) throw new Error(r.problem);
    expect(r.path).to.equal('/admin');
  });

  it('a client-sent X-Original-URL cannot override what Traefik or Caddy forwarded', () => {
    const forwarded = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.test',
      'x-forwarded-uri': '/admin',
      'x-forwarded-method': 'DELETE',
    };
    expect(
      originalRequest({ ...forwarded, 'x-original-url': 'https://app.test/public' }, 'GET'),
    ).to.have.property('problem');
    expect(
      originalRequest(
        { ...forwarded, 'x-original-url': 'https://app.test/admin', 'x-original-method': 'GET' },
        'GET',
      ),
    ).to.have.property('problem');
    const same = originalRequest(
      { ...forwarded, 'x-original-url': 'https://app.test/admin', 'x-original-method': 'DELETE' },
      'GET',
    );
    expect(same).to.include({ path: '/admin', method: 'DELETE' });
  });

  const bad: [string, Record<string, string>][] = [
    ['no forwarded headers at all', {}],
    [
      'a non-http proto',
      { 'x-forwarded-proto': 'javascript', 'x-forwarded-host': 'a.test', 'x-forwarded-uri': '/' },
    ],
    [
      'a host with userinfo',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil@a.test', 'x-forwarded-uri': '/' },
    ],
    [
      'a host with a path',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test/x', 'x-forwarded-uri': '/' },
    ],
    [
      'a uri that is no path',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test', 'x-forwarded-uri': 'x' },
    ],
    [
      'a uri with a full URL',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test', 'x-forwarded-uri': 'https://evil/' },
    ],
    [
      'a %2F..%2F escape',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test', 'x-forwarded-uri': '/a%2F..%2Fadmin' },
    ],
    [
      'bad percent-encoding',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test', 'x-forwarded-uri': '/%zz%' },
    ],
    [
      'a bad method',
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.test', 'x-forwarded-method': 'G T' },
    ],
    ['a relative X-Original-URL', { 'x-original-url': '/x' }],
    ['a javascript: X-Original-URL', { 'x-original-url': 'javascript:alert(1)' }],
    ['userinfo in X-Original-URL', { 'x-original-url': 'https://u:p@a.test/' }],
  ];
  for (const [what, headers] of bad) {
    it(`refuses ${what}`, () => {
      expect(originalRequest(headers, 'GET')).to.have.property('problem');
    });
  }
});
