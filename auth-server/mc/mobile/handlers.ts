// Request handlers of `/mc/mobile` (protocol/mobile/mc.ts): register, pull, ack and the live subscription.
import {
  type Channel,
  MessageError,
  publicKeyFromJwk,
  publicKeyToJwk,
  thumbprint,
} from '../../../protocol/index.js';
import type { McMessage, McMobileMessages } from '../../../protocol/mobile/mc.js';
import type { Clock } from '../../common/clock.js';
import type { Unsubscribe } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import { McError } from '../errors.js';
import type { McApi } from '../service.js';
import type { McBrake } from './brake.js';

export interface McChannelContext {
  api: McApi;
  /** Raw P-256 key the client proved in the handshake: the app-instance key. */
  clientKey: Uint8Array;
  clock: Clock;
  logger: Logger;
  brake: McBrake;
}

/** Pushed ids remembered per subscription, so a message seen by the first pull and on the bus goes once. */
const maxRememberedIds = 1024;

/** Installs the MC handlers; returns what to release when the channel ends. */
export function installMcHandlers(
  channel: Channel<McMobileMessages>,
  ctx: McChannelContext,
): () => Promise<void> {
  const { api } = ctx;
  let instanceId: string | undefined;
  let subscription: Promise<Unsubscribe> | undefined;

  const instance = async (): Promise<string> => {
    if (instanceId !== undefined) return instanceId;
    const found = await api.instances.findByThumbprint(await thumbprint(ctx.clientKey));
    if (!found) throw new MessageError('unknown_instance', 'register this key first (instance.register)');
    instanceId = found.id;
    return instanceId;
  };

  /** McErrors keep their code; anything else is logged by name only (database messages carry values). */
  const logged = async <T>(type: string, operation: () => Promise<T>): Promise<T> => {
    try {
      await ctx.brake();
      return await operation();
    } catch (err) {
      if (err instanceof McError) throw new MessageError(err.code, err.message);
      if (!(err instanceof MessageError))
        ctx.logger.error({ type, error: err instanceof Error ? err.name : typeof err }, 'mc request failed');
      throw err;
    }
  };

  channel.onRequest('instance.register', ({ encryptionKey, push }) =>
    logged('instance.register', async () => {
      try {
        // Proves the point is on P-256 before anyone seals for it.
        await crypto.subtle.importKey(
          'raw',
          publicKeyFromJwk(encryptionKey),
          { name: 'ECDH', namedCurve: 'P-256' },
          false,
          [],
        );
      } catch {
        throw new MessageError('invalid_request', 'encryptionKey is not a P-256 point');
      }
      // The key comes from the handshake, never from the body: an app can only register a key it holds.
      const registered = await api.instances.register({
        publicJwk: publicKeyToJwk(ctx.clientKey),
        encryptionKey,
        push,
      });
      instanceId = registered.id;
      return { instanceId: registered.id };
    }),
  );

  channel.onRequest('mailbox.pull', ({ after, limit }) =>
    logged('mailbox.pull', async () => {
      const id = await instance();
      const page = await api.mailbox.pull(id, {
        ...(after !== undefined ? { after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      await api.mailbox.markDelivered(page.messages.map((m) => m.id));
      return page;
    }),
  );

  channel.onRequest('mailbox.ack', ({ ids }) =>
    logged('mailbox.ack', async () => ({ acked: await api.mailbox.ack(await instance(), ids) })),
  );

  channel.onRequest('mailbox.subscribe', ({ after }) =>
    logged('mailbox.subscribe', async () => {
      const id = await instance();
      if (subscription) return { ok: true as const };
      const sent = new Set<string>();
      const send = (message: McMessage) => {
        if (sent.has(message.id) || message.expiresAt <= ctx.clock.now() || !channel.session.isOpen) return;
        sent.add(message.id);
        if (sent.size > maxRememberedIds) sent.delete(sent.values().next().value as string);
        channel
          .push('mailbox.message', message)
          .then(
            () => api.mailbox.markDelivered([message.id]),
            () => {},
          )
          .catch(() => {});
      };
      // Listen first, then send what is already waiting: nothing posted in between is missed.
      subscription = api.mailbox.subscribe(id, send);
      await subscription;
      let cursor = after;
      for (let page = 0; page < 20; page++) {
        const { messages, more } = await api.mailbox.pull(id, cursor !== undefined ? { after: cursor } : {});
        for (const m of messages) send(m);
        if (!more || messages.length === 0) break;
        cursor = messages[messages.length - 1]?.cursor;
      }
      return { ok: true as const };
    }),
  );

  return async () => {
    const pending = subscription;
    subscription = undefined;
    if (pending) await (await pending.catch(() => async () => {}))();
  };
}
