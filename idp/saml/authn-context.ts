// Whether a RequestedAuthnContext (saml-core §3.3.2.2.1) can be met by our one method, a phone + PIN (or
// biometric) login: MobileTwoFactorContract (DESIGN.md §5). Password-level classes are met by it for every
// comparison but `better` against our own class — also for `exact`, which many SPs send by default
// (node-saml: PasswordProtectedTransport, exact) and which Keycloak, Okta and Entra treat the same way;
// anything else (a class we cannot vouch for, a declaration reference) is NoAuthnContext.
import { phonePinAcr } from '../interaction/ns-login.js';

export const authnContextClassRef = phonePinAcr;

const weaker = new Set([
  'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Password',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileOneFactorContract',
]);

export function satisfiable(requested: { comparison: string; classRefs: string[] } | undefined): boolean {
  if (!requested) return true;
  const { comparison, classRefs } = requested;
  const listed = classRefs.includes(authnContextClassRef);
  switch (comparison) {
    case 'exact':
    case 'maximum':
    case 'minimum':
      return listed || classRefs.some((c) => weaker.has(c));
    case 'better':
      return classRefs.length > 0 && classRefs.every((c) => weaker.has(c));
    default:
      return false;
  }
}
