import { expect } from 'chai';
import { decide } from '../../../idp/forward-auth/decide.js';
import { matchRule, parseDuration, parseRules, RulesError } from '../../../idp/forward-auth/rules.js';
import type { IdpSession } from '../../../idp/session/types.js';

const file = 'rules.yaml';

function error(text: string): RulesError {
  try {
    parseRules(text, file);
  } catch (err) {
    expect(err).to.be.instanceOf(RulesError);
    return err as RulesError;
  }
  throw new Error('expected a RulesError');
}

const session = (over: Partial<IdpSession> = {}): IdpSession => ({
  id: 's1',
  server: 'default',
  userid: 'alice',
  accountId: 'a1',
  authTime: 1000,
  amr: ['swk', 'pin'],
  acr: 'x',
  createdAt: 1000,
  expiresAt: 5000,
  ...over,
});
const profile = (groups: string[]) => ({
  userid: 'alice',
  name: 'Alice',
  email: null,
  groups,
  attributes: {},
});

describe('forward-auth rules: parsing and validation', () => {
  it('reads every field of a rule', () => {
    const set = parseRules(
      [
        'rules:',
        '  - host: "*.example.com"',
        '    path: [/admin, "/admin/**"]',
        '    methods: [post, DELETE]',
        '    groups: [admins]',
        '    amr: [pin]',
        '    recent-auth: 5m',
        '  - host: intranet.example.com',
        '    policy: deny',
      ].join('\n'),
      file,
    );
    expect(set.rules).to.have.length(2);
    const [first, second] = set.rules;
    expect(first?.hosts).to.deep.equal(['*.example.com']);
    expect(first?.methods).to.deep.equal(['POST', 'DELETE']);
    expect(first?.policy).to.deep.equal({
      kind: 'authenticated',
      groups: ['admins'],
      amr: ['pin'],
      recentAuthSeconds: 300,
    });
    expect(second?.policy).to.deep.equal({ kind: 'deny' });
    expect(set.headers.entries.map((e) => e.header)).to.deep.equal([
      'Remote-User',
      'Remote-Email',
      'Remote-Name',
      'Remote-Groups',
    ]);
  });

  it('an empty file is the default (every route authenticated)', () => {
    expect(parseRules('', file).rules).to.deep.equal([]);
    expect(parseRules('# nothing yet\n', file).rules).to.deep.equal([]);
  });

  it('durations: s, m, h, d and bare seconds; zero, junk and more than 30 days are refused', () => {
    expect(parseDuration('90s')).to.equal(90);
    expect(parseDuration('5m')).to.equal(300);
    expect(parseDuration('1h')).to.equal(3600);
    expect(parseDuration('2d')).to.equal(172800);
    expect(parseDuration(45)).to.equal(45);
    expect(parseDuration('0m')).to.equal(undefined);
    expect(parseDuration('5 minutes')).to.equal(undefined);
    expect(parseDuration('31d')).to.equal(undefined);
    expect(parseDuration(1.5)).to.equal(undefined);
  });

  const cases: [string, string, string, RegExp][] = [
    ['not YAML', 'rules: [', 'line 1', /not valid YAML/],
    ['not a mapping', '- a\n- b\n', '', /expected object/i],
    ['unknown top-level key', 'rulez: []', '', /rulez/],
    ['rules not a list', 'rules: {}', 'rules', /expected array/i],
    ['unknown rule key', 'rules:\n  - hots: a.example.com', 'rule 0', /hots/],
    ['bad host', 'rules:\n  - host: "https://a.example.com"', 'rule 0.host', /host name/],
    ['host with a port', 'rules:\n  - host: a.example.com:8443', 'rule 0.host', /no port/],
    ['bad path', 'rules:\n  - path: admin', 'rule 0.path', /starting with "\/"/],
    ['path with a query', 'rules:\n  - path: /a?b=1', 'rule 0.path', /starting with "\/"/],
    ['bad method', 'rules:\n  - methods: [GE T]', 'rule 0.methods[0]', /HTTP method/],
    ['bad policy', 'rules:\n  - {}\n  - policy: allow', 'rule 1.policy', /deny or authenticated/],
    ['empty groups', 'rules:\n  - groups: []', 'rule 0.groups', /at least one group/],
    ['groups not a list', 'rules:\n  - groups: admins', 'rule 0.groups', /expected array/i],
    ['bad amr', 'rules:\n  - amr: ["p i n"]', 'rule 0.amr[0]', /amr values/],
    ['bad duration', 'rules:\n  - recent-auth: soon', 'rule 0.recent-auth', /duration/],
    [
      'deny with groups',
      'rules:\n  - policy: deny\n    groups: [a]',
      'rule 0.groups',
      /not allowed with policy: deny/,
    ],
    ['deny with recent-auth', 'rules:\n  - policy: deny\n    recent-auth: 1m', 'rule 0.recent-auth', /deny/],
    [
      'reserved header',
      'headers:\n  - { name: Cookie, claim: userid }',
      'headers[0].name',
      /cannot carry identity/,
    ],
    [
      'forwarded header',
      'headers:\n  - { name: X-Forwarded-User, claim: userid }',
      'headers[0].name',
      /cannot/,
    ],
    [
      'bad header name',
      'headers:\n  - { name: "Remote User", claim: userid }',
      'headers[0].name',
      /header name/,
    ],
    [
      'header named twice',
      'headers:\n  - { name: Remote-User, claim: userid }\n  - { name: remote-user, claim: email }',
      'headers[1].name',
      /named twice/,
    ],
    ['no headers', 'headers: []', 'headers', /at least one header/],
  ];
  for (const [what, text, field, problem] of cases) {
    it(`refuses ${what}, naming the file, rule and field`, () => {
      const err = error(text);
      expect(err.file).to.equal(file);
      expect(err.field).to.equal(field);
      expect(err.problem).to.match(problem);
      expect(err.message).to.match(new RegExp(`^${file}: `));
    });
  }

  it('refuses a file over 256 KiB and alias bombs', () => {
    expect(error(`# ${'x'.repeat(300 * 1024)}`).problem).to.match(/larger than/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++)
      bomb.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(12)
          .fill(`*${i === 0 ? 'a' : 'b'.repeat(i)}`)
          .join(', ')}]`,
      );
    expect(error(bomb.join('\n')).problem).to.match(/not valid YAML|alias/i);
  });
});

describe('forward-auth rules: matching', () => {
  const set = parseRules(
    [
      'rules:',
      '  - host: app.example.com',
      '    path: /public/**',
      '    policy: authenticated',
      '  - host: app.example.com',
      '    path: "/admin/**"',
      '    groups: [admins]',
      '  - host: app.example.com',
      '    methods: [DELETE]',
      '    policy: deny',
      '  - host: "*.example.com"',
      '    path: /pay/*',
      '    recent-auth: 5m',
      '  - host: "*.example.com"',
      '    path: /keys',
      '    amr: [hwk]',
      '  - host: closed.example.com',
      '    policy: deny',
    ].join('\n'),
    file,
  );
  const at = (host: string, path: string, method = 'GET') =>
    matchRule(set.rules, { host, path, method })?.index;

  it('first match wins, in file order', () => {
    expect(at('app.example.com', '/public/x')).to.equal(0);
    // DELETE on /public is rule 0 (earlier), elsewhere on the host rule 2.
    expect(at('app.example.com', '/public/x', 'DELETE')).to.equal(0);
    expect(at('app.example.com', '/other', 'DELETE')).to.equal(2);
    expect(at('app.example.com', '/admin/users')).to.equal(1);
  });

  it('host patterns: exact, or "*." for subdomains only', () => {
    expect(at('shop.example.com', '/pay/1')).to.equal(3);
    expect(at('example.com', '/pay/1')).to.equal(undefined);
    expect(at('evilexample.com', '/pay/1')).to.equal(undefined);
    expect(at('closed.example.com', '/')).to.equal(5);
  });

  it('path globs: * stays within a segment, ** crosses; no prefix matching', () => {
    expect(at('shop.example.com', '/pay/1/receipt')).to.equal(undefined);
    expect(at('app.example.com', '/admin')).to.equal(undefined);
    expect(at('app.example.com', '/admin/a/b/c')).to.equal(1);
    expect(at('shop.example.com', '/keys/x')).to.equal(undefined);
    expect(at('shop.example.com', '/keys')).to.equal(4);
  });

  it('decides: deny for all, login without a session, 403 for groups and amr, step-up when stale', () => {
    const now = 1000;
    const req = (host: string, path: string, method = 'GET') => ({ host, path, method });
    expect(decide(set, req('closed.example.com', '/'), undefined, undefined, now)).to.deep.include({
      kind: 'forbidden',
      reason: 'rule_denies',
    });
    expect(decide(set, req('other.org', '/'), undefined, undefined, now)).to.deep.equal({
      kind: 'login',
      reason: 'no_session',
    });
    expect(decide(set, req('other.org', '/'), session(), profile([]), now)).to.deep.equal({ kind: 'allow' });
    expect(decide(set, req('app.example.com', '/admin/x'), session(), profile(['staff']), now)).to.deep.equal(
      {
        kind: 'forbidden',
        reason: 'not_in_group',
        rule: 1,
      },
    );
    expect(
      decide(set, req('app.example.com', '/admin/x'), session(), profile(['admins']), now).kind,
    ).to.equal('allow');
    expect(decide(set, req('app.example.com', '/admin/x'), session(), undefined, now).kind).to.equal(
      'forbidden',
    );
    expect(decide(set, req('a.example.com', '/keys'), session(), profile([]), now)).to.deep.include({
      kind: 'forbidden',
      reason: 'amr_missing',
    });
    expect(
      decide(set, req('a.example.com', '/keys'), session({ amr: ['hwk', 'pin'] }), profile([]), now).kind,
    ).to.equal('allow');
    expect(
      decide(set, req('a.example.com', '/pay/1'), session({ authTime: now - 300 }), profile([]), now).kind,
    ).to.equal('allow');
    expect(
      decide(set, req('a.example.com', '/pay/1'), session({ authTime: now - 301 }), profile([]), now),
    ).to.deep.equal({
      kind: 'login',
      reason: 'step_up',
      maxAge: 300,
      rule: 3,
    });
  });
});
