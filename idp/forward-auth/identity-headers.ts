// The identity headers a forward-auth 200 carries to the upstream app (DESIGN.md §5): which header holds
// which claim, configurable in the rules file, and their values from the IdP session and the NS user.
import { z } from 'zod';
import type { NsUserProfile } from '../../auth-server/common/peers.js';
import type { IdpSession } from '../session/types.js';

export interface HeaderMapping {
  /** Header name → claim (`userid`, `sub`, `name`, `email`, `groups`, `amr`, `acr`, `auth_time`, or an NS attribute). */
  entries: { header: string; claim: string }[];
}

export const defaultHeaderMapping: HeaderMapping = {
  entries: [
    { header: 'Remote-User', claim: 'userid' },
    { header: 'Remote-Email', claim: 'email' },
    { header: 'Remote-Name', claim: 'name' },
    { header: 'Remote-Groups', claim: 'groups' },
  ],
};

/** Headers that would let the mapping break HTTP framing, cookies or redirects if we set them. */
const reserved = new Set([
  'host',
  'cookie',
  'set-cookie',
  'authorization',
  'location',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'www-authenticate',
]);

export const headerMappingSchema = z
  .array(
    z.strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/, 'expected a header name of letters, digits and "-"')
        .refine((n) => !reserved.has(n.toLowerCase()) && !/^x-forwarded-/i.test(n), {
          message: 'this header cannot carry identity (it means something else to proxies and browsers)',
        }),
      claim: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected a claim name such as userid, email or an NS attribute'),
    }),
  )
  .min(1, 'expected at least one header')
  .max(20, 'expected at most 20 headers')
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      const key = e.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'named twice' });
      seen.add(key);
    });
  })
  .transform(
    (entries): HeaderMapping => ({ entries: entries.map((e) => ({ header: e.name, claim: e.claim })) }),
  );

function claimValue(claim: string, session: IdpSession, profile: NsUserProfile | undefined): string {
  switch (claim) {
    // Forward-auth has no client to make `sub` pairwise for: it is the public subject, the userid.
    case 'userid':
    case 'sub':
      return session.userid;
    case 'name':
      return profile?.name ?? '';
    case 'email':
      return profile?.email ?? '';
    case 'groups':
      return (profile?.groups ?? []).join(',');
    case 'amr':
      return session.amr.join(',');
    case 'acr':
      return session.acr;
    case 'auth_time':
      return String(session.authTime);
    default:
      return profile?.attributes[claim] ?? '';
  }
}

/**
 * A value as an HTTP header can carry it: control characters (header injection) dropped, non-ASCII sent as
 * its UTF-8 bytes (what upstream frameworks decode), capped at 4 KiB.
 */
export function headerSafe(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '');
  return Buffer.from(clean, 'utf8').toString('latin1').slice(0, 4096);
}

/** Every mapped header, each present (empty when unknown) so the proxy always overwrites the client's. */
export function identityHeaders(
  mapping: HeaderMapping,
  session: IdpSession,
  profile: NsUserProfile | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { header, claim } of mapping.entries)
    out[header] = headerSafe(claimValue(claim, session, profile));
  return out;
}
