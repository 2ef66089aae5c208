// `amr` of an NS login by how the phone confirmed it (RFC 8176): PIN → swk + pin, biometrics → swk + user.
import { expect } from 'chai';
import { phoneAmr } from '../../../idp/interaction/ns-login.js';

describe('idp/interaction: amr of a phone login', () => {
  it('says pin for a PIN login and for logins stored before the method was kept', () => {
    expect(phoneAmr('pin')).to.deep.equal(['swk', 'pin']);
    expect(phoneAmr(undefined)).to.deep.equal(['swk', 'pin']);
  });

  it('says user (a biometric user verification, sensor unknown) for a biometric login', () => {
    expect(phoneAmr('bio')).to.deep.equal(['swk', 'user']);
  });

  it('hands out a fresh array each time (callers may extend it)', () => {
    expect(phoneAmr('pin')).to.not.equal(phoneAmr('pin'));
  });
});
