// Request handlers of `/sfs/mobile` (protocol/mobile/sfs.ts): thin steps over SfsApi, one per message type.
import { type Channel, MessageError, publicKeyToJwk, thumbprint } from '../../../protocol/index.js';
import type { SfsMobileMessages } from '../../../protocol/mobile/sfs.js';
import type { Logger } from '../../common/logging.js';
import type { SfsApi } from '../service.js';
import type { Brake } from './brake.js';
import { pinChecked, sfsCall } from './errors.js';

export interface ChannelContext {
  api: SfsApi;
  /** Raw P-256 key the client proved in the handshake: the app-instance key. */
  clientKey: Uint8Array;
  brake: Brake;
  logger: Logger;
}

/**
 * Resolves the app instance of the channel key once it is registered, and remembers it for the channel: an
 * id never changes for a key. `instance.register` on the channel tells it directly (no lookup after it).
 */
function instanceOfChannel(ctx: ChannelContext): { get(): Promise<string>; registered(id: string): void } {
  let id: string | undefined;
  let fingerprint: Promise<string> | undefined;
  return {
    async get() {
      if (id !== undefined) return id;
      fingerprint ??= thumbprint(ctx.clientKey);
      const instance = await ctx.api.instances.findByThumbprint(await fingerprint);
      if (!instance)
        throw new MessageError('unknown_instance', 'register this key first (instance.register)');
      id = instance.id;
      return id;
    },
    registered(registeredId) {
      id = registeredId;
    },
  };
}

/** Installs every SFS request handler on a channel whose client key has been authenticated. */
export function installSfsHandlers(channel: Channel<SfsMobileMessages>, ctx: ChannelContext): void {
  const { api, brake } = ctx;
  const instance = instanceOfChannel(ctx);
  const instanceId = () => instance.get();
  /**
   * The channel answers an unexpected failure with `internal`; it is logged here by name only, because a
   * database error message can carry the statement's bound values (PIN verifiers, keys).
   */
  const logged = async <T>(type: string, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (err) {
      if (!(err instanceof MessageError))
        ctx.logger.error({ type, error: err instanceof Error ? err.name : typeof err }, 'sfs request failed');
      throw err;
    }
  };

  channel.onRequest('instance.register', () =>
    logged('instance.register', async () => {
      // The key comes from the handshake, never from the body: an app can only register a key it holds.
      const publicJwk = publicKeyToJwk(ctx.clientKey);
      const registered = await sfsCall(() => api.instances.register({ publicJwk }));
      instance.registered(registered.id);
      return { instanceId: registered.id, pinSet: registered.hasPin };
    }),
  );

  channel.onRequest('pin.set', ({ pinProof }) =>
    logged('pin.set', async () => {
      const id = await instanceId();
      await brake();
      await sfsCall(() => api.pin.set({ instanceId: id, pinProof }));
      return { ok: true as const };
    }),
  );

  channel.onRequest('pin.change', ({ serverId, oldPinProof, newPinProof }) =>
    logged('pin.change', async () => {
      const id = await instanceId();
      await brake();
      return pinChecked(async () => {
        await api.pin.change({ instanceId: id, serverId, oldPinProof, newPinProof });
        return { ok: true as const };
      });
    }),
  );

  channel.onRequest('attest', (body) =>
    logged('attest', async () => {
      const id = await instanceId();
      await brake();
      const { serverId, challenge } = body;
      return pinChecked(async () => {
        const issued =
          body.method === 'pin'
            ? await api.attestWithPin({ instanceId: id, serverId, challenge, pinProof: body.pinProof })
            : await api.attestWithBio({
                instanceId: id,
                serverId,
                challenge,
                nonce: body.nonce,
                signature: body.signature,
              });
        // Epoch milliseconds (what the app compares with Date.now()), not the JWT seconds of `exp`.
        return { ok: true as const, attestation: issued.attestation, expiresAt: issued.expiresAt.getTime() };
      });
    }),
  );

  channel.onRequest('bio.register', ({ serverId, pinProof, publicJwk }) =>
    logged('bio.register', async () => {
      const id = await instanceId();
      await brake();
      return pinChecked(async () => {
        await api.bio.register({ instanceId: id, serverId, pinProof, publicJwk });
        return { ok: true as const };
      });
    }),
  );

  channel.onRequest('bio.remove', () =>
    logged('bio.remove', async () => {
      const id = await instanceId();
      return { ok: true as const, removed: await sfsCall(() => api.bio.remove(id)) };
    }),
  );

  channel.onRequest('bio.challenge', () =>
    logged('bio.challenge', async () => {
      const id = await instanceId();
      await brake();
      return sfsCall(() => api.bio.challenge(id));
    }),
  );
}
