// The device's MC inbox: opens the mailbox session, decrypts, hands every message to the app exactly once
// (de-duplicated by id across pull and subscription), and acknowledges only after it was handled.
import type { McMessage } from '../../../protocol/mobile/mc.js';
import {
  type LogoutPayload,
  type PushLoginPayload,
  parseAppMessage,
  type TransactionPayload,
  transactionIdOf,
} from '../../../protocol/mobile/mc-payloads.js';
import { SealError } from '../../../protocol/mobile/mc-seal.js';
import type { TransportFactory } from '../channels.js';
import type { Clock } from '../clock.js';
import type { SdkEndpoint } from '../config/index.js';
import { SdkError, toSdkError } from '../errors.js';
import type { KeyStore, Storage } from '../ports.js';
import { noPush, type PushTokenSource } from './push.js';
import { createSeenStore, type SeenStore } from './seen.js';
import { McSession, type OpenedMessage } from './session.js';

export interface InboxDeps {
  keyStore: KeyStore;
  storage: Storage;
  transports: TransportFactory;
  mc: SdkEndpoint;
  clock: Clock;
  /** The platform's push registration (default: none). */
  push?: PushTokenSource;
  /** A notice (a login of an account here ended) arrived: the SDK records it in the history. */
  onLogout?: (notice: LogoutPayload) => Promise<void>;
}

/** A push login or a transaction waiting in the mailbox, opened: what `pending` lists and `approve`/`deny` answer. */
export interface PendingRequest {
  message: McMessage;
  opened: OpenedMessage;
  request: PushLoginPayload | TransactionPayload;
}

/** What happened to one delivery. */
export type Delivery = 'handled' | 'duplicate' | 'expired' | 'unreadable';

export type MessageHandler = (message: OpenedMessage) => void | Promise<void>;

/** A pending message as `pending` lists it: opened, or why it cannot be. */
export type PendingMessage =
  | OpenedMessage
  | { id: string; createdAt: number; expiresAt: number; error: string };

export class Inbox {
  private readonly seen: SeenStore;
  /** Deliveries one at a time: a message arriving by pull and by push at once is handled once. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: McSession,
    private readonly deps: InboxDeps,
  ) {
    this.seen = createSeenStore(deps.storage);
  }

  /** Connects to the configured MC and registers this app instance (with the platform's push token). */
  static async open(deps: InboxDeps): Promise<Inbox> {
    try {
      const session = await McSession.open({
        keyStore: deps.keyStore,
        transports: deps.transports,
        mc: deps.mc,
        push: deps.push ?? noPush,
      });
      return new Inbox(session, deps);
    } catch (err) {
      throw toSdkError(err);
    }
  }

  get instanceId(): string {
    return this.session.instanceId;
  }

  /** Resolves when the channel ends (null: closed normally). */
  get closed() {
    return this.session.closed;
  }

  /** Everything the mailbox holds for this instance, opened, without handling or acknowledging it. */
  async pending(): Promise<PendingMessage[]> {
    const out: PendingMessage[] = [];
    for (const message of await this.pullAll()) {
      try {
        out.push(await this.session.open(message, this.deps.clock.now()));
      } catch (err) {
        const error = err instanceof SealError ? err.code : 'internal';
        out.push({ id: message.id, createdAt: message.createdAt, expiresAt: message.expiresAt, error });
      }
    }
    return out;
  }

  /**
   * The push logins and transactions waiting in the mailbox (not acknowledged: they stay until answered or expired). Notices
   * found on the way (logouts) are handled and acknowledged, as a pull delivers them; expired, answered and
   * unreadable messages are dropped; others are left alone.
   */
  async requests(): Promise<PendingRequest[]> {
    const out: PendingRequest[] = [];
    const now = this.deps.clock.now();
    for (const message of await this.pullAll()) {
      if (message.expiresAt <= now || (await this.seen.has(message.id))) {
        await this.deliver(message, () => {});
        continue;
      }
      let opened: OpenedMessage;
      try {
        opened = await this.session.open(message, now);
      } catch {
        await this.deliver(message, () => {});
        continue;
      }
      const payload = parseAppMessage(opened.payload);
      if ((payload?.type === 'login' || payload?.type === 'transaction') && payload.id === message.id)
        out.push({ message, opened, request: payload });
      // Notices are handled as a pull delivers them; messages this SDK does not know stay for `listen`.
      else if (payload?.type === 'logout') await this.deliver(message, () => {});
    }
    return out;
  }

  /**
   * The request `id` to answer now (a message id, or the transaction id a message names): refused when this
   * device already answered it (`replayed`: its id is remembered until it expires), when it expired, or
   * when the mailbox does not hold it.
   */
  async take(id: string): Promise<PendingRequest> {
    if (await this.seen.has(id))
      throw new SdkError('rejected', 'this request was already answered', { reason: 'replayed' });
    const found = (await this.requests()).find(
      (r) => r.message.id === id || (r.request.type === 'transaction' && transactionIdOf(r.request) === id),
    );
    if (!found) throw new SdkError('rejected', 'no such pending request', { reason: 'unknown_request' });
    if (found.request.expiresAt <= this.deps.clock.now()) throw new SdkError('expired');
    return found;
  }

  /** The request was answered (or failed for good): remembered as seen and acknowledged at the MC. */
  async answered(request: PendingRequest): Promise<void> {
    await this.seen.add(request.message.id, request.message.expiresAt, this.deps.clock.now());
    await this.session.ack([request.message.id]);
  }

  /** Pulls what is pending and delivers each message (see `deliver`); returns the outcomes in order. */
  async pull(handler: MessageHandler): Promise<Delivery[]> {
    const outcomes: Delivery[] = [];
    for (const message of await this.pullAll()) outcomes.push(await this.deliver(message, handler));
    return outcomes;
  }

  /**
   * Keeps the channel as the live transport: what is pending and every new message is delivered as it
   * arrives. Resolves once subscribed; `closed` tells when it ends. A failing delivery is reported to
   * `onError` and left unacknowledged, so the next pull or subscription offers it again.
   */
  async listen(handler: MessageHandler, onError: (err: unknown) => void = () => {}): Promise<void> {
    try {
      await this.session.subscribe((message) => {
        this.deliver(message, handler).catch(onError);
      });
    } catch (err) {
      throw toSdkError(err);
    }
  }

  /**
   * Hands a delivered message to `handler` once: a message seen before is only acknowledged again (its
   * first ack may have been lost), an expired one is dropped, one that does not open (not for this key,
   * tampered) is dropped too — it never will open. Handled messages are remembered until they expire and
   * acknowledged after the handler returned; a handler that throws leaves the message in the mailbox.
   */
  deliver(message: McMessage, handler: MessageHandler): Promise<Delivery> {
    const run = this.queue.then(() => this.deliverNow(message, handler));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Resolves once the deliveries already started are done (their acks sent): wait for it before closing. */
  async settled(): Promise<void> {
    let current: Promise<unknown>;
    do {
      current = this.queue;
      await current.catch(() => {});
    } while (current !== this.queue);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private async deliverNow(message: McMessage, handler: MessageHandler): Promise<Delivery> {
    const now = this.deps.clock.now();
    if (await this.seen.has(message.id)) {
      await this.session.ack([message.id]);
      return 'duplicate';
    }
    if (message.expiresAt <= now) {
      await this.session.ack([message.id]);
      return 'expired';
    }
    let opened: OpenedMessage;
    try {
      opened = await this.session.open(message, now);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      await this.seen.add(message.id, message.expiresAt, now);
      await this.session.ack([message.id]);
      return err.code === 'expired' ? 'expired' : 'unreadable';
    }
    const notice = parseAppMessage(opened.payload);
    if (notice?.type === 'login') {
      // A request is shown, not consumed: it stays in the mailbox until answered (`take`, `answered`).
      await handler(opened);
      return 'handled';
    }
    if (notice?.type === 'logout') await this.deps.onLogout?.(notice);
    await handler(opened);
    await this.seen.add(message.id, message.expiresAt, now);
    await this.session.ack([message.id]);
    return 'handled';
  }

  private async pullAll(): Promise<McMessage[]> {
    const all: McMessage[] = [];
    let after: string | undefined;
    try {
      for (;;) {
        const { messages, more } = await this.session.pull(after);
        all.push(...messages);
        if (!more || messages.length === 0) return all;
        after = messages[messages.length - 1]?.cursor;
      }
    } catch (err) {
      throw toSdkError(err);
    }
  }
}
