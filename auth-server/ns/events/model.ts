// NS business events (nextAuth's REGISTER / LOGIN / LOGOUT / CONFIRMSCAN / CANCEL / NOACCOUNTS, plus BLOCK
// and PINLOCKOUT): what `/ns/events` subscribers and webhooks are told once a change has committed.
import { z } from 'zod';
import type { AuditEvent, AuditEventType } from '../audit/model.js';

export const businessEventTypes = [
  'REGISTER',
  'LOGIN',
  'LOGOUT',
  'CONFIRMSCAN',
  'CANCEL',
  'NOACCOUNTS',
  'BLOCK',
  'PINLOCKOUT',
] as const;
export const businessEventTypeSchema = z.enum(businessEventTypes);
export type BusinessEventType = z.output<typeof businessEventTypeSchema>;

/**
 * The types a webhook may subscribe to: the security-relevant, audited ones, so their deliveries are
 * enqueued in the very transaction that records them (docs/decisions.md).
 */
export const webhookEventTypes = ['LOGIN', 'LOGOUT', 'REGISTER', 'BLOCK', 'PINLOCKOUT'] as const;
export const webhookEventTypeSchema = z.enum(webhookEventTypes);
export type WebhookEventType = z.output<typeof webhookEventTypeSchema>;

export function isWebhookEventType(type: BusinessEventType): type is WebhookEventType {
  return (webhookEventTypes as readonly string[]).includes(type);
}

/**
 * One event. Ids only — the session's internal id, never its nonce, a login code, a token or a key: a
 * subscriber learns what happened to whom, not how to act as them.
 */
export interface BusinessEvent {
  /** 32 hex characters; an audited event keeps its audit event's id (one id to correlate both). */
  id: string;
  type: BusinessEventType;
  /** Epoch milliseconds. */
  time: number;
  server: { id: string; name: string };
  session: string | null;
  userid: string | null;
  account: string | null;
}

const idSchema = z.string().min(1).max(255);

/** The event on the bus between instances (server id included, for server-scoped subscribers). */
export const busEventSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  type: businessEventTypeSchema,
  time: z.number().int().nonnegative(),
  server: z.strictObject({ id: z.string().min(1).max(32), name: z.string().min(1).max(63) }),
  session: idSchema.nullable(),
  userid: idSchema.nullable(),
  account: idSchema.nullable(),
});

/** The event as `/ns/events` sends it and webhook `data` carries it. */
export const businessEventWireSchema = z.object({
  id: z.string(),
  type: businessEventTypeSchema,
  time: z.iso.datetime(),
  server: z.string().describe('virtual server name'),
  session: z.string().nullable().describe('internal session id (never the nonce)'),
  userid: z.string().nullable(),
  account: z.string().nullable().describe('account id'),
});
export type BusinessEventWire = z.output<typeof businessEventWireSchema>;

export function toEventWire(event: BusinessEvent): BusinessEventWire {
  return {
    id: event.id,
    type: event.type,
    time: new Date(event.time).toISOString(),
    server: event.server.name,
    session: event.session,
    userid: event.userid,
    account: event.account,
  };
}

const byAuditType: Partial<Record<AuditEventType, BusinessEventType>> = {
  'account.enrolled': 'REGISTER',
  'session.login': 'LOGIN',
  'session.logout': 'LOGOUT',
  'session.declined': 'CANCEL',
  'account.blocked': 'BLOCK',
  'pin.lockout': 'PINLOCKOUT',
};

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The business event an audit event stands for, if any (most audit events are administrative). */
export function fromAuditEvent(event: AuditEvent): BusinessEvent | undefined {
  const type = byAuditType[event.type];
  if (type === undefined || event.server === null) return undefined;
  const { actor, subject, details } = event;
  const userid = subject.kind === 'user' ? subject.id : text(details.userid);
  const account =
    subject.kind === 'account' ? subject.id : actor.kind === 'account' ? actor.id : text(details.account);
  return {
    id: event.id,
    type,
    time: event.time,
    server: event.server,
    session: subject.kind === 'session' ? subject.id : text(details.session),
    userid,
    account,
  };
}
