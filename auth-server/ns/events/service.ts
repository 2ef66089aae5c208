// The one place business events come from: the audit recorder feeds the audited ones (REGISTER, LOGIN,
// LOGOUT, CANCEL, BLOCK, PINLOCKOUT) and the phone paths the others (CONFIRMSCAN, NOACCOUNTS). Webhook
// deliveries are enqueued in the recording transaction; the bus hears an event only once it has committed.
import type { Knex } from 'knex';
import type { Clock, Random } from '../../common/clock.js';
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { AuditEvent } from '../audit/model.js';
import type { AuditService } from '../audit/service.js';
import { publishBusinessEvent, subscribeBusinessEvents } from './bus.js';
import { type BusinessEvent, type BusinessEventType, fromAuditEvent } from './model.js';

/** Durable consumers (webhooks) that must see an event exactly when its change commits. */
export interface BusinessEventSink {
  /**
   * Runs in the change's transaction (or on the database handle when there is none); throwing fails it.
   * Resolves true when it queued work for this event.
   */
  enqueue(event: BusinessEvent, db: Knex | undefined): Promise<boolean>;
  /** After the commit of an event it queued work for: e.g. run the dispatcher now rather than at its tick. */
  committed?(event: BusinessEvent): void;
}

export interface BusinessEventInput {
  type: Extract<BusinessEventType, 'CONFIRMSCAN' | 'NOACCOUNTS'>;
  server: { id: string; name: string };
  session: string | null;
  userid: string | null;
  account: string | null;
}

export interface BusinessEvents {
  /** Called by the audit recorder for every event it stored, with the caller's transaction. */
  audited(event: AuditEvent, trx: Knex | undefined): Promise<void>;
  /** An unaudited event whose change has already committed (a scan, a phone without an account). */
  emit(input: BusinessEventInput): Promise<BusinessEvent>;
  /** Events from every instance, in publish order. */
  subscribe(handler: (event: BusinessEvent) => void): Promise<Unsubscribe>;
  /** Adds a durable consumer (set once at wiring time). */
  addSink(sink: BusinessEventSink): void;
}

function isTransaction(db: Knex | undefined): db is Knex.Transaction {
  return db !== undefined && (db as Knex.Transaction).isTransaction === true;
}

export function createBusinessEvents(deps: {
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
}): BusinessEvents {
  const { kv, logger } = deps;
  const sinks: BusinessEventSink[] = [];

  /**
   * Best effort, like the session state on the bus: the change has committed, and a lost publish must not
   * turn it into an error. Webhooks do not depend on it (their queue is in the database).
   */
  const publish = async (event: BusinessEvent, queuedBy: readonly BusinessEventSink[]): Promise<void> => {
    for (const sink of queuedBy) sink.committed?.(event);
    try {
      await publishBusinessEvent(kv, event);
    } catch (err) {
      logger.warn({ err, eventId: event.id, type: event.type }, 'business event not published');
    }
  };

  return {
    async audited(auditEvent, trx) {
      const event = fromAuditEvent(auditEvent);
      if (!event) return;
      const queuedBy: BusinessEventSink[] = [];
      for (const sink of sinks) if (await sink.enqueue(event, trx)) queuedBy.push(sink);
      if (isTransaction(trx)) {
        // Published after the commit, or never: a rolled-back login is no event.
        trx.executionPromise.then(
          () => publish(event, queuedBy),
          () => {},
        );
      } else {
        await publish(event, queuedBy);
      }
    },

    async emit(input) {
      const event: BusinessEvent = {
        id: Buffer.from(deps.random.bytes(16)).toString('hex'),
        time: deps.clock.now(),
        ...input,
      };
      await publish(event, []);
      return event;
    },

    subscribe: (handler) => subscribeBusinessEvents(kv, handler),

    addSink(sink) {
      sinks.push(sink);
    },
  };
}

/** The audit service with its recorder feeding the business events (one wiring point, no sprinkled calls). */
export function withBusinessEvents(audit: AuditService, events: BusinessEvents): AuditService {
  return {
    ...audit,
    async record(input, trx) {
      const event = await audit.record(input, trx);
      await events.audited(event, trx);
      return event;
    },
  };
}
