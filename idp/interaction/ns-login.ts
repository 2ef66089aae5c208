// Turns the browser's NS login (QR scanned, confirmed with the PIN on the phone) into the facts an IdP session
// is made of — who, how (`amr`, `acr`) and when (`auth_time`) — exactly once per NS login (DESIGN.md §4).
import type { Knex } from 'knex';
import type { Clock } from '../../auth-server/common/clock.js';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import type { IdpLogin } from '../session/types.js';

export const nsLoginClaimsTable = 'idp_ns_login_claims';

/**
 * `acr` of a QR (or push) login confirmed with the PIN: the SAML class of the same login (DESIGN.md §5), so
 * OIDC and SAML relying parties see one name for one method.
 */
export const phonePinAcr = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract';

/**
 * `amr` (RFC 8176): proof of possession of the account key held by the phone (`swk`: NS does not yet learn
 * whether the key is hardware-backed, which would make it `hwk`) and the PIN checked by SFS (`pin`).
 */
export const phonePinAmr: readonly string[] = ['swk', 'pin'];

/**
 * `amr` of a login by how the phone confirmed it: `pin` → `["swk","pin"]`; `bio` → `["swk","user"]`, the
 * account key plus a biometric user-verification on the phone. RFC 8176 names `fpt` and `face`, but the
 * attestation does not say which sensor matched (Android's BiometricPrompt does not tell), so the generic
 * `user` (RFC 8176 §2: user presence / verification) rather than a guessed modality.
 */
export function phoneAmr(method: 'pin' | 'bio' | undefined): string[] {
  return method === 'bio' ? ['swk', 'user'] : [...phonePinAmr];
}

export type NsLoginRefusal =
  /** No NS session cookie in this browser, or it names no session of this server. */
  | 'no_login_session'
  /** Still waiting for the phone (or expired, or logged out). */
  | 'login_pending'
  /** Approved before this authorization request began: not a login for it. */
  | 'login_stale'
  /** This NS login already made an IdP login. */
  | 'login_used';

/** A collected login carries exactly what an IdP session is made of, so no front door can drop a fact. */
export type NsLoginOutcome =
  | ({ kind: 'login' } & IdpLogin)
  | { kind: 'declined' }
  | { kind: 'refused'; reason: NsLoginRefusal; state?: string };

/** The IdP login of a collected NS login (the outcome without its `kind`). */
export function loginOf(outcome: Extract<NsLoginOutcome, { kind: 'login' }>): IdpLogin {
  const { kind: _kind, ...login } = outcome;
  return login;
}

export interface NsLoginCollector {
  /**
   * Reads the NS session behind the browser's cookie and, if it is a login approved at or after
   * `notBeforeMs`, claims it (one insert: of concurrent collections exactly one wins).
   */
  collect(server: string, nonce: string | undefined, notBeforeMs: number): Promise<NsLoginOutcome>;
}

export function createNsLoginCollector(deps: { ns: NsPeer; knex: Knex; clock: Clock }): NsLoginCollector {
  const { ns, knex, clock } = deps;

  const claim = async (hsid: string, server: string, expiresAt: number): Promise<boolean> => {
    try {
      await knex(nsLoginClaimsTable).insert({
        hsid,
        server,
        claimed_at: clock.now(),
        expires_at: expiresAt,
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  };

  return {
    async collect(server, nonce, notBeforeMs) {
      if (!nonce) return { kind: 'refused', reason: 'no_login_session' };
      const status = await ns.browserSessionStatus(server, nonce);
      if (!status) return { kind: 'refused', reason: 'no_login_session' };
      if (status.state === 'declined') return { kind: 'declined' };
      if (
        !status.loggedin ||
        status.userid === undefined ||
        status.accountid === undefined ||
        status.hsid === undefined ||
        status.loggedInAt === undefined
      ) {
        return { kind: 'refused', reason: 'login_pending', state: status.state };
      }
      if (status.loggedInAt < notBeforeMs) return { kind: 'refused', reason: 'login_stale' };
      if (!(await claim(status.hsid, server, status.expiresAt)))
        return { kind: 'refused', reason: 'login_used' };
      return {
        kind: 'login',
        userid: status.userid,
        accountId: status.accountid,
        authTime: Math.floor(status.loggedInAt / 1000),
        amr: phoneAmr(status.method),
        acr: phonePinAcr,
        ...(status.id !== undefined ? { nsSession: status.id } : {}),
      };
    },
  };
}
