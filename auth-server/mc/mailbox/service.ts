// Mailbox rules: what a post must satisfy (sealed for this instance, size, lifetime, limits), pull, ack,
// live delivery across MC instances, and the sweep of expired and acknowledged messages.
import { z } from 'zod';
import { MAX_PULL_MESSAGES, MAX_SEALED_MESSAGE_BYTES, type McMessage } from '../../../protocol/mobile/mc.js';
import { readSealedHeader, SealError } from '../../../protocol/mobile/mc-seal.js';
import type { Clock } from '../../common/clock.js';
import type { Kv, Unsubscribe } from '../../common/kv/kv.js';
import { McError } from '../errors.js';
import type { McInstanceRepository } from '../instances/repository.js';
import type { StoredMessage } from '../push/dispatcher.js';
import { publishMessage, subscribeMailbox } from './bus.js';
import type { MailboxRepository } from './repository.js';

export interface MailboxLimits {
  /** Pending (unacknowledged, unexpired) messages per instance, unless the instance row says otherwise. */
  maxPending: number;
  /** Longest lifetime a sender may give a message. */
  maxTtlMs: number;
  /** Bytes of sealed messages in one pull answer (it must fit one 64 KiB channel frame). */
  maxPullBytes: number;
}

export const defaultMailboxLimits: MailboxLimits = {
  maxPending: 100,
  maxTtlMs: 7 * 24 * 60 * 60_000,
  maxPullBytes: 48 * 1024,
};

export const collapseIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);

export interface PostInput {
  instanceId: string;
  /** `nxm1.…` from sealMcMessage: id and expiry are read from its header. */
  sealed: string;
  collapseId?: string;
}

export interface MailboxService {
  post(input: PostInput): Promise<McMessage>;
  pull(
    instanceId: string,
    options?: { after?: string; limit?: number },
  ): Promise<{ messages: McMessage[]; more: boolean }>;
  ack(instanceId: string, ids: readonly string[]): Promise<number>;
  /** Live messages of one instance from any MC instance (resolves once listening). */
  subscribe(instanceId: string, handler: (message: McMessage) => void): Promise<Unsubscribe>;
  markDelivered(ids: readonly string[]): Promise<void>;
  /** Removes acknowledged messages and those expired more than `graceMs` ago. */
  sweep(graceMs?: number): Promise<number>;
}

export function createMailboxService(deps: {
  repository: MailboxRepository;
  instances: McInstanceRepository;
  kv: Kv;
  clock: Clock;
  limits?: Partial<MailboxLimits>;
  /** Told of each stored message (the push dispatcher); must return at once and never throw. */
  onStored?: (message: StoredMessage) => void;
}): MailboxService {
  const { repository, instances, kv, clock } = deps;
  const limits = { ...defaultMailboxLimits, ...deps.limits };
  return {
    async post(input) {
      if (typeof input.sealed !== 'string' || input.sealed.length > MAX_SEALED_MESSAGE_BYTES)
        throw new McError('message_too_large');
      if (input.collapseId !== undefined && !collapseIdSchema.safeParse(input.collapseId).success)
        throw new McError('invalid_request', 'collapse id: 1 to 64 of A-Z a-z 0-9 . _ : -');
      let header: ReturnType<typeof readSealedHeader>;
      try {
        header = readSealedHeader(input.sealed);
      } catch (err) {
        if (err instanceof SealError) throw new McError('invalid_request', 'not a sealed MC message');
        throw err;
      }
      const instance = await instances.find(input.instanceId);
      if (!instance) throw new McError('unknown_instance');
      if (header.instanceId !== instance.id) throw new McError('wrong_recipient');
      const now = clock.now();
      if (header.expiresAt <= now || header.expiresAt > now + limits.maxTtlMs)
        throw new McError('invalid_expiry');
      const stored = await repository.insert(
        {
          id: header.id,
          instanceId: instance.id,
          sealed: input.sealed,
          collapseId: input.collapseId ?? null,
          createdAt: now,
          expiresAt: header.expiresAt,
        },
        instance.maxPending ?? limits.maxPending,
        now,
      );
      // Stored first, announced second: a subscriber that misses the announcement still pulls it. The push
      // starts before the bus publish, so a KV outage does not cost the push too.
      deps.onStored?.({
        id: stored.id,
        instanceId: instance.id,
        sealed: stored.sealed,
        collapseId: input.collapseId ?? null,
        createdAt: stored.createdAt,
        expiresAt: stored.expiresAt,
      });
      await publishMessage(kv, instance.id, stored);
      return stored;
    },
    pull(instanceId, options = {}) {
      return repository.pull(instanceId, {
        ...(options.after !== undefined ? { after: options.after } : {}),
        limit: Math.min(options.limit ?? MAX_PULL_MESSAGES, MAX_PULL_MESSAGES),
        maxBytes: limits.maxPullBytes,
        now: clock.now(),
      });
    },
    ack: (instanceId, ids) => repository.ack(instanceId, ids, clock.now()),
    subscribe: (instanceId, handler) => subscribeMailbox(kv, instanceId, handler),
    markDelivered: (ids) => repository.markDelivered(ids, clock.now()),
    sweep: (graceMs = 0) => repository.sweep(clock.now() - graceMs),
  };
}
