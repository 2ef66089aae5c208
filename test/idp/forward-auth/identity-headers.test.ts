import { expect } from 'chai';
import {
  defaultHeaderMapping,
  headerSafe,
  identityHeaders,
} from '../../../idp/forward-auth/identity-headers.js';
import { parseRules } from '../../../idp/forward-auth/rules.js';
import type { IdpSession } from '../../../idp/session/types.js';

const session: IdpSession = {
  id: 's1',
  server: 'default',
  userid: 'alice',
  accountId: 'a1',
  authTime: 1700000000,
  amr: ['swk', 'pin'],
  acr: 'phone',
  createdAt: 1700000000,
  expiresAt: 1700003600,
};

describe('forward-auth: identity headers', () => {
  it('default mapping: all four Remote-* headers from the NS user', () => {
    const profile = {
      userid: 'alice',
      name: 'Alice A.',
      email: 'alice@example.com',
      groups: ['admins', 'staff'],
      attributes: {},
    };
    expect(identityHeaders(defaultHeaderMapping, session, profile)).to.deep.equal({
      'Remote-User': 'alice',
      'Remote-Email': 'alice@example.com',
      'Remote-Name': 'Alice A.',
      'Remote-Groups': 'admins,staff',
    });
  });

  it('every header present, empty when unknown (user without an NS record)', () => {
    expect(identityHeaders(defaultHeaderMapping, session, undefined)).to.deep.equal({
      'Remote-User': 'alice',
      'Remote-Email': '',
      'Remote-Name': '',
      'Remote-Groups': '',
    });
  });

  it('configurable names and claims, NS attributes by name', () => {
    const { headers } = parseRules(
      [
        'headers:',
        '  - { name: X-Auth-User, claim: sub }',
        '  - { name: X-Auth-Dept, claim: department }',
        '  - { name: X-Auth-Amr, claim: amr }',
        '  - { name: X-Auth-Time, claim: auth_time }',
        '  - { name: X-Auth-Missing, claim: nickname }',
      ].join('\n'),
      'rules.yaml',
    );
    const profile = {
      userid: 'alice',
      name: null,
      email: null,
      groups: [],
      attributes: { department: 'R&D' },
    };
    expect(identityHeaders(headers, session, profile)).to.deep.equal({
      'X-Auth-User': 'alice',
      'X-Auth-Dept': 'R&D',
      'X-Auth-Amr': 'swk,pin',
      'X-Auth-Time': '1700000000',
      'X-Auth-Missing': '',
    });
  });

  it('values cannot inject headers; non-ASCII goes as UTF-8 bytes', () => {
    expect(headerSafe('Eve\r\nRemote-User: admin')).to.equal('EveRemote-User: admin');
    expect(Buffer.from(headerSafe('José'), 'latin1').toString('utf8')).to.equal('José');
  });
});
