// The app instance at its MC: the channel (instance key), the mailbox key (ECDH) and the mailbox requests.
import type { Bytes, Channel } from '../../../protocol/index.js';
import { publicKeyFromJwk } from '../../../protocol/keys.js';
import {
  type McMessage,
  type McMobileMessages,
  mcMobileMessages,
  mcTargetId,
  mcUrlFromEndpoint,
} from '../../../protocol/mobile/mc.js';
import { openMcMessage } from '../../../protocol/mobile/mc-seal.js';
import { openChannel, type TransportFactory } from '../channels.js';
import type { SdkEndpoint } from '../config/index.js';
import { SdkError } from '../errors.js';
import { INSTANCE_KEY_ALIAS } from '../instance/sfs-session.js';
import { keyStoreSigner } from '../keys.js';
import { type KeyKind, type KeyStore, KeyStoreError } from '../ports.js';
import type { PushTokenSource } from './push.js';

/** The ECDH key MC messages are sealed for; separate from the instance (signing) key. */
export const MAILBOX_KEY_ALIAS = 'mc-mailbox';

export interface McSessionDeps {
  keyStore: KeyStore;
  transports: TransportFactory;
  /** The MC of the verified SDK configuration. */
  mc: SdkEndpoint;
  push: PushTokenSource;
}

/** Creates a key once; a concurrent creator's key is as good as ours. */
async function ensureKey(store: KeyStore, alias: string, kind: KeyKind): Promise<void> {
  if (await store.has(alias)) return;
  try {
    await store.generate(alias, kind);
  } catch (err) {
    if (!(err instanceof KeyStoreError && err.code === 'exists')) throw err;
  }
}

/** A delivered message, opened. */
export interface OpenedMessage {
  id: string;
  createdAt: number;
  expiresAt: number;
  /** The plaintext the sender sealed (UTF-8). */
  payload: string;
}

/** One open, registered channel to the MC. */
export class McSession {
  private constructor(
    private readonly channel: Channel<McMobileMessages>,
    private readonly deps: McSessionDeps,
    readonly instanceId: string,
  ) {}

  static async open(deps: McSessionDeps): Promise<McSession> {
    const agree = deps.keyStore.agree;
    if (!agree) throw new SdkError('internal', 'this key store cannot hold the MC mailbox key (no ECDH)');
    await ensureKey(deps.keyStore, INSTANCE_KEY_ALIAS, 'ecdsa-p256');
    await ensureKey(deps.keyStore, MAILBOX_KEY_ALIAS, 'ecdh-p256');
    const channel = await openChannel(deps.transports, {
      url: deps.mc.url,
      target: { kind: 'mc', id: await mcTargetId(mcUrlFromEndpoint(deps.mc.url)) },
      server: { keys: [publicKeyFromJwk(deps.mc.key)] },
      identity: await keyStoreSigner(deps.keyStore, INSTANCE_KEY_ALIAS),
      // The protocol's heartbeat (20 s) and idle timeout (60 s) keep a long subscription alive while idle.
      registry: mcMobileMessages,
    });
    try {
      const { instanceId } = await channel.request('instance.register', {
        encryptionKey: await deps.keyStore.publicJwk(MAILBOX_KEY_ALIAS),
        push: await deps.push.registration(),
      });
      return new McSession(channel, deps, instanceId);
    } catch (err) {
      await channel.close().catch(() => {});
      throw err;
    }
  }

  /** Resolves when the channel ends (null: closed normally). */
  get closed() {
    return this.channel.closed;
  }

  pull(after?: string): Promise<{ messages: McMessage[]; more: boolean }> {
    return this.channel.request('mailbox.pull', after !== undefined ? { after } : {});
  }

  async ack(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.channel.request('mailbox.ack', { ids: [...ids] })).acked;
  }

  /** Turns this channel into the live transport: pending and new messages arrive at `onMessage`. */
  async subscribe(onMessage: (message: McMessage) => void): Promise<void> {
    this.channel.onPush('mailbox.message', (m) => onMessage(m));
    await this.channel.request('mailbox.subscribe', {});
  }

  /**
   * Opens a message with the mailbox key (inside the key store). SealError codes: `wrong_recipient`,
   * `expired`, `decrypt_failed`, `malformed`.
   */
  async open(message: McMessage, now: number): Promise<OpenedMessage> {
    const store = this.deps.keyStore;
    const { plaintext } = await openMcMessage(message.sealed, {
      agree: (epk: Bytes) =>
        (store.agree as NonNullable<KeyStore['agree']>).call(store, MAILBOX_KEY_ALIAS, epk),
      recipientKey: await store.publicJwk(MAILBOX_KEY_ALIAS),
      instanceId: this.instanceId,
      id: message.id,
      now,
    });
    return {
      id: message.id,
      createdAt: message.createdAt,
      expiresAt: message.expiresAt,
      payload: new TextDecoder().decode(plaintext),
    };
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
