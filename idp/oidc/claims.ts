// Claims of an ID token and of userinfo from the NS user record (auth-server/ns/users): which scope stands
// for which claims, and the mapping itself. oidc-provider keeps to the claims the grant allows, so this
// returns everything the record has.
import type { NsUserProfile } from '../../auth-server/common/peers.js';

/**
 * Scopes and the claims they stand for. `acr`, `amr` and `auth_time` ride on `openid`, so every ID token
 * says how and when the user logged in.
 */
export const oidcClaims = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'preferred_username'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
} as const;

/**
 * The NS attribute that vouches for the email address. NS stores whatever the integrator sends and never
 * checks an address, so `email_verified` is false unless the integrator says otherwise with this attribute.
 */
export const emailVerifiedAttribute = 'email_verified';

export type UserClaims = {
  sub: string;
  name?: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[];
};

/** A user without an NS user record (only accounts) is just `sub`. */
export function claimsFromProfile(sub: string, profile: NsUserProfile | undefined): UserClaims {
  if (!profile) return { sub };
  const claims: UserClaims = { sub, preferred_username: profile.userid };
  if (profile.name !== null) claims.name = profile.name;
  if (profile.email !== null) {
    claims.email = profile.email;
    claims.email_verified = profile.attributes[emailVerifiedAttribute] === 'true';
  }
  claims.groups = [...profile.groups];
  return claims;
}
