// Role checks of API-key principals: root holds every role everywhere, server keys only theirs on their server.
import { expect } from 'chai';
import type { ApiPrincipal } from '../../../../auth-server/ns/apikeys/model.js';
import { rolesSchema, storedRolesSchema } from '../../../../auth-server/ns/apikeys/model.js';
import {
  AccessDeniedError,
  hasRole,
  isGlobalRoot,
  requireGlobalRoot,
  requireRole,
} from '../../../../auth-server/ns/apikeys/roles.js';

const root: ApiPrincipal = { keyId: 'root', serverId: null, roles: ['root'] };
const serverRoot: ApiPrincipal = { keyId: 'k0', serverId: 's1', roles: ['root'] };
const sessionsKey: ApiPrincipal = { keyId: 'k1', serverId: 's1', roles: ['sessions'] };

function denied(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AccessDeniedError);
    return (err as AccessDeniedError).reason;
  }
  throw new Error('expected AccessDeniedError');
}

describe('ns API key roles', () => {
  it('root holds every role on every server', () => {
    for (const role of ['sessions', 'users', 'accounts', 'servers', 'audit', 'root'] as const) {
      expect(hasRole(root, role)).to.equal(true);
      expect(() => requireRole(root, role, 'any-server')).not.to.throw();
    }
    expect(isGlobalRoot(root)).to.equal(true);
  });

  it('a server key with root holds every role, but only on its server', () => {
    expect(() => requireRole(serverRoot, 'audit', 's1')).not.to.throw();
    expect(denied(() => requireRole(serverRoot, 'audit', 's2'))).to.equal('wrong_server');
    expect(isGlobalRoot(serverRoot)).to.equal(false);
    expect(denied(() => requireGlobalRoot(serverRoot, 'create servers'))).to.equal('root_only');
  });

  it('checks the role before the server, so a key without the role learns nothing about other servers', () => {
    expect(() => requireRole(sessionsKey, 'sessions', 's1')).not.to.throw();
    expect(denied(() => requireRole(sessionsKey, 'users', 's1'))).to.equal('missing_role');
    expect(denied(() => requireRole(sessionsKey, 'users', 's2'))).to.equal('missing_role');
    expect(denied(() => requireRole(sessionsKey, 'sessions', 's2'))).to.equal('wrong_server');
  });

  it('accepts any of several roles', () => {
    expect(() => requireRole(sessionsKey, ['users', 'sessions'])).not.to.throw();
    expect(denied(() => requireRole(sessionsKey, ['users', 'accounts']))).to.equal('missing_role');
  });

  it('writes only known, distinct roles; reads drop unknown ones instead of failing', () => {
    expect(rolesSchema.safeParse(['sessions', 'users']).success).to.equal(true);
    expect(rolesSchema.safeParse([]).success).to.equal(false);
    expect(rolesSchema.safeParse(['admin']).success).to.equal(false);
    expect(rolesSchema.safeParse(['users', 'users']).success).to.equal(false);
    expect(storedRolesSchema.parse(['admin', 'sessions'])).to.deep.equal(['sessions']);
  });
});
