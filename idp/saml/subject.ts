// Who the SP is told logged in: the NameID in the format it asked for (saml-core §8.3) and the attributes of
// its mapping, from the NS user record (claims of DESIGN.md §5).
import { createHmac, hkdfSync } from 'node:crypto';
import type { NsUserProfile } from '../../auth-server/common/peers.js';
import type { SamlAttribute } from './response.js';
import type { SpSettings } from './sps.js';

export const nameIdFormats = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;
export const supportedNameIdFormats: readonly string[] = Object.values(nameIdFormats);
/** The short names administrators use for an SP's NameID format (`nextauth saml sp update --nameid-format`). */
export const nameIdFormatNames = ['persistent', 'email', 'transient', 'unspecified'] as const;
export type NameIdFormatName = (typeof nameIdFormatNames)[number];

/**
 * Persistent NameIDs are pairwise (saml-core §8.3.7: opaque, per SP): HMAC-SHA-256 over the SP's entity ID
 * and the userid, keyed by HKDF of NEXTAUTH_SECRET_KEY per server — stable across restarts and instances,
 * different for every SP.
 */
export function persistentNameId(secretKey: string, server: string) {
  const key = Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-saml-persistent-v1', server, 32));
  return (spEntityId: string, userid: string): string =>
    createHmac('sha256', key).update(`${spEntityId}\n${userid}`).digest('base64url');
}

/**
 * The format of the Response. With a format set for the SP (`configured`) that one, and a request may ask for
 * it or leave the choice to us (no Format, or `unspecified`, saml-core §3.4.1.1); any other is refused.
 * Otherwise what the request asked for (`unspecified` too: the userid); for none the SP metadata's first we
 * support, else persistent. Undefined: not supported or not allowed (InvalidNameIDPolicy).
 */
export function chooseNameIdFormat(
  requested: string | undefined,
  spFormats: readonly string[],
  configured?: NameIdFormatName,
): string | undefined {
  if (configured !== undefined) {
    const format = nameIdFormats[configured];
    return requested === undefined || requested === format || requested === nameIdFormats.unspecified
      ? format
      : undefined;
  }
  if (requested !== undefined) return supportedNameIdFormats.includes(requested) ? requested : undefined;
  return spFormats.find((f) => supportedNameIdFormats.includes(f)) ?? nameIdFormats.persistent;
}

export interface NameIdInput {
  format: string;
  userid: string;
  spEntityId: string;
  profile: NsUserProfile | undefined;
  persistent: (spEntityId: string, userid: string) => string;
  /** A fresh random value per Response, for `transient`. */
  transient: () => string;
}

/** The NameID value; undefined when the user has nothing for the format (no email address). */
export function nameIdValue(input: NameIdInput): string | undefined {
  switch (input.format) {
    case nameIdFormats.persistent:
      return input.persistent(input.spEntityId, input.userid);
    case nameIdFormats.email:
      return input.profile?.email ?? undefined;
    case nameIdFormats.transient:
      return input.transient();
    default:
      return input.userid;
  }
}

/** One claim's values for `profile`; `sub` is the SP's persistent NameID value. */
function claimValues(
  claim: string,
  userid: string,
  sub: string,
  profile: NsUserProfile | undefined,
): string[] {
  if (claim === 'sub') return [sub];
  if (claim === 'userid') return [userid];
  if (!profile) return [];
  if (claim === 'name') return profile.name !== null ? [profile.name] : [];
  if (claim === 'email') return profile.email !== null ? [profile.email] : [];
  if (claim === 'groups') return [...profile.groups];
  if (claim.startsWith('attr:')) {
    const value = profile.attributes[claim.slice(5)];
    return value !== undefined ? [value] : [];
  }
  return [];
}

/** The SP's attribute mapping applied; attributes without a value are left out. */
export function mapAttributes(
  settings: SpSettings,
  userid: string,
  sub: string,
  profile: NsUserProfile | undefined,
): SamlAttribute[] {
  return Object.entries(settings.attributes)
    .map(([name, claim]) => ({ name, values: claimValues(claim, userid, sub, profile) }))
    .filter((a) => a.values.length > 0);
}
