// An NS audit event (who did what to whom, from where, when) and the zod schemas that guard what is stored.
import { z } from 'zod';

/**
 * The closed set of recorded event types. A new kind of event is a new entry here (and in docs/api.md);
 * `pin.lockout` is recorded when the SFS reports a lockout (`NsPeer.reportPinLockout`).
 */
export const auditEventTypes = [
  'session.login',
  'session.login_rejected',
  'session.declined',
  'session.logout',
  'push.sent',
  'push.rejected',
  'account.enrolled',
  'account.blocked',
  'account.push_blocked',
  'account.unblocked',
  'account.deleted',
  'account.updated',
  'enrol_link.created',
  'pin.lockout',
  'user.updated',
  'user.deleted',
  'apikey.created',
  'apikey.revoked',
  'server.created',
  'server.updated',
  'server.deleted',
  'webhook.created',
  'webhook.deleted',
  'recovery_codes.generated',
  'recovery_code.used',
  'recovery_code.refused',
  // IdP administration, recorded through NsPeer.recordAdminEvent (the IdP has no audit log of its own).
  'oidc_client.created',
  'oidc_client.updated',
  'oidc_client.deleted',
  'oidc_keys.rotated',
  'saml_keys.rotated',
  'saml_sp.created',
  'saml_sp.updated',
  'saml_sp.deleted',
  // IdP sessions starting and ending, recorded through NsPeer.recordIdpSessionEvent.
  'idp_session.started',
  'idp_session.ended',

  // Transaction signing (issue #11).
  'transaction.created',
  'transaction.approved',
  'transaction.declined',
  'transaction.rejected',
  'transaction_type.updated',
  'transaction_type.deleted',
] as const;

export const auditEventTypeSchema = z.enum(auditEventTypes);
export type AuditEventType = z.output<typeof auditEventTypeSchema>;

/** Who acted: an API key (integrator, operator CLI), a phone's account key, a user, or NS itself. */
export const actorKinds = ['apikey', 'account', 'user', 'system'] as const;
/** What was acted on. */
export const subjectKinds = [
  'session',
  'account',
  'user',
  'apikey',
  'server',
  'webhook',
  'oidc_client',
  'saml_sp',
] as const;

export const actorKindSchema = z.enum(actorKinds);
export const subjectKindSchema = z.enum(subjectKinds);
export type ActorKind = z.output<typeof actorKindSchema>;
export type SubjectKind = z.output<typeof subjectKindSchema>;

/** Ids are API-key ids, account ids, userids (free-form, up to 255), server names, session ids. */
export const partyIdSchema = z.string().min(1).max(255);

export const actorSchema = z.strictObject({ kind: actorKindSchema, id: partyIdSchema });
export const subjectSchema = z.strictObject({ kind: subjectKindSchema, id: partyIdSchema });
export type AuditActor = z.output<typeof actorSchema>;
export type AuditSubject = z.output<typeof subjectSchema>;

/**
 * Detail keys that would name a credential. Details carry ids and fingerprints only — never PINs, tokens,
 * nonces, codes, attestations, keys or hashes of them — so a key whose name says otherwise is refused
 * before anything is stored (`keyThumbprint`, `keyId`, `pinAttempts` are fine; `token`, `tokenHash`,
 * `nonce`, `pin`, `apiKey`, `privateJwk` are not).
 */
const credentialKey =
  /^(pin|pins|code|codes|key|otp|jwk|cookie|authorization|apikey)$|(token|secret|nonce|password|passphrase|attestation|privatekey|privatejwk|hash)$/;

export function namesCredential(key: string): boolean {
  return credentialKey.test(key.replaceAll('_', '').toLowerCase());
}

const detailValueSchema = z.union([
  z.string().max(1024),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(255)).max(32),
]);

/** Flat, small, credential-free: what an event adds beyond actor and subject (e.g. `{session, reason}`). */
export const auditDetailsSchema = z
  .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/), detailValueSchema)
  .refine((d) => Object.keys(d).length <= 16, 'at most 16 details')
  .refine((d) => !Object.keys(d).some(namesCredential), 'details must not carry credentials')
  .refine((d) => JSON.stringify(d).length <= 8192, 'details exceed 8 KiB');
export type AuditDetails = z.output<typeof auditDetailsSchema>;

/** The virtual server an event belongs to (null: NS-wide, e.g. a root API key). */
export interface AuditServer {
  id: string;
  name: string;
}

/** What a caller hands to `record`: everything but id and time. */
export const newAuditEventSchema = z.strictObject({
  type: auditEventTypeSchema,
  server: z.strictObject({ id: z.string().min(1).max(32), name: z.string().min(1).max(63) }).nullable(),
  actor: actorSchema,
  subject: subjectSchema,
  ip: z.string().max(64).nullable().default(null),
  /** Capped like the session's user agent: a hostile client cannot bloat rows. */
  userAgent: z
    .string()
    .max(4096)
    .transform((s) => s.slice(0, 512))
    .nullable()
    .default(null),
  details: auditDetailsSchema.default({}),
  /** The root key acting as a stored key (`X-su`): that key's id, kept in `details.actingAs`. */
  actingAs: partyIdSchema.optional(),
});
export type NewAuditEvent = z.input<typeof newAuditEventSchema>;

export interface AuditEvent {
  id: string;
  /** Epoch milliseconds. */
  time: number;
  type: AuditEventType;
  server: AuditServer | null;
  actor: AuditActor;
  subject: AuditSubject;
  ip: string | null;
  userAgent: string | null;
  details: AuditDetails;
}

/** Where a request came from: the client address (behind a trusted proxy, its X-Forwarded-For). */
export interface AuditOrigin {
  ip: string | null;
  userAgent: string | null;
}

/** Who acts, and from where: what routes and the phone endpoint hand to the services they call. */
export interface AuditContext extends AuditOrigin {
  actor: AuditActor;
  /** Set when the root key acts as a stored API key (`X-su`): the actor stays root. */
  actingAs?: string;
}

/** In-process callers that do not say who acts are NS itself (embedded IdP, start-up, tests). */
export const systemContext: AuditContext = {
  actor: { kind: 'system', id: 'ns' },
  ip: null,
  userAgent: null,
};

export const unknownOrigin: AuditOrigin = { ip: null, userAgent: null };

/** The event as the REST API and the export write it (`time` as ISO 8601, `server` by name). */
export const auditEventWireSchema = z.object({
  id: z.string(),
  time: z.iso.datetime(),
  type: auditEventTypeSchema,
  server: z.string().nullable().describe('virtual server name; null for NS-wide events'),
  actor: actorSchema,
  subject: subjectSchema,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), detailValueSchema),
});
export type AuditEventWire = z.output<typeof auditEventWireSchema>;

export function toWire(event: AuditEvent): AuditEventWire {
  return {
    id: event.id,
    time: new Date(event.time).toISOString(),
    type: event.type,
    server: event.server?.name ?? null,
    actor: event.actor,
    subject: event.subject,
    ip: event.ip,
    userAgent: event.userAgent,
    details: event.details,
  };
}

/** Filters of a query or export; all optional, combined with AND. */
export interface AuditFilter {
  /** Exact server id (what a server-scoped API key is confined to). */
  serverId?: string;
  /** Server name (root keys: also finds events of a deleted server). */
  serverName?: string;
  /** Any of these types. */
  types?: readonly AuditEventType[];
  actor?: { kind: ActorKind; id?: string };
  subject?: { kind: SubjectKind; id?: string };
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export type AuditOrder = 'asc' | 'desc';

/** A position in (time, id) order: events strictly after it (in the query's order) come next. */
export interface AuditCursor {
  time: number;
  id: string;
}
