// NextAuthSdk: the facade an app (or the `nextauth-device` CLI) holds — configuration, instance, accounts, flows.
import { decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import type { PublicJwk } from '../../protocol/keys.js';
import { publicJwkSchema } from '../../protocol/mobile/common.js';
import type {
  LogoutPayload,
  PushLoginPayload,
  TransactionPayload,
} from '../../protocol/mobile/mc-payloads.js';
import type { Account } from './accounts/model.js';
import { type AccountStore, createAccountStore } from './accounts/store.js';
import { bioKeyState } from './biometrics/bio-key.js';
import type { TransportFactory } from './channels.js';
import { type Clock, systemClock } from './clock.js';
import { publisherFingerprint, type SdkConfig, SdkConfigError, verifySdkConfig } from './config/index.js';
import { SdkError } from './errors.js';
import { AddBiometricsFlow, type AddBiometricsOptions } from './flows/add-biometrics.js';
import { ChangePinFlow, type ChangePinOptions } from './flows/change-pin.js';
import { DeleteAccountFlow, type DeleteAccountOptions } from './flows/delete-account.js';
import type { FlowDeps } from './flows/deps.js';
import { EnrolFlow } from './flows/enrol.js';
import type { Flow } from './flows/flow.js';
import { HeadlessUpgradeFlow, type HeadlessUpgradeOptions } from './flows/headless-upgrade.js';
import { LoginFlow, type LoginOptions } from './flows/login.js';
import { RemoveBiometricsFlow } from './flows/remove-biometrics.js';
import {
  previewTransaction,
  SignTransactionFlow,
  type SignTransactionOptions,
  transactionRequestFromUri,
} from './flows/sign-transaction.js';
import type { FlowSnapshot, TransactionContext } from './flows/types.js';
import { createHistoryStore, type HistoryEntry, type HistoryStore } from './history/store.js';
import { type InstanceRecord, readInstanceRecord, SfsSession } from './instance/sfs-session.js';
import { Inbox } from './mc/inbox.js';
import type { PushTokenSource } from './mc/push.js';
import { type Biometrics, type KeyStore, noBiometrics, type Storage } from './ports.js';

export type SdkFlow =
  | EnrolFlow
  | LoginFlow
  | ChangePinFlow
  | DeleteAccountFlow
  | AddBiometricsFlow
  | RemoveBiometricsFlow
  | HeadlessUpgradeFlow
  | SignTransactionFlow;

/** What the app shows on its security screen. */
export interface BiometricsStatus {
  /** The platform has a sensor and at least one enrolled biometric. */
  available: boolean;
  /** This device holds a biometric key that logins will use. */
  enabled: boolean;
  /** The key exists but the enrolled set changed since: the next login deletes it and asks for the PIN. */
  invalidated: boolean;
}

export const CONFIG_STORAGE_KEY = 'sdk-config';

const storedConfigSchema = z
  .object({ v: z.literal(1), jws: z.string(), publisherKey: publicJwkSchema })
  .strict();

export interface NextAuthSdkOptions {
  keyStore: KeyStore;
  storage: Storage;
  /** Platform biometrics (default: none, every confirmation uses the PIN). */
  biometrics?: Biometrics;
  /** Opens a transport to a ws:// or wss:// URL (Node: `ws`; browsers: their WebSocket). */
  transports: TransportFactory;
  clock?: Clock;
  /**
   * Publisher keys pinned at build time (a real app). Without them the key passed to `configure` is trusted
   * on first use and kept; later configurations must be signed by it (demo devices and tests).
   */
  trustedPublisherKeys?: readonly PublicJwk[];
  /** Shown by the server next to the account (e.g. "nextauth-device on host x"). */
  deviceDescription?: string;
  clientVersion?: string;
  /** How long `history()` keeps a flow's outcome (default 90 days). */
  historyRetentionDays?: number;
  /** The platform's push registration for every inbox (default: none, pull and subscription only). */
  push?: PushTokenSource;
}

export interface ConfigureOptions {
  /** The publisher key to trust when none is pinned (trust on first use). */
  publisherKey?: PublicJwk;
  /** Replace a previously trusted (first-use) publisher key by `publisherKey`: only on the user's explicit word. */
  replaceTrustedKey?: boolean;
}

export interface ConfiguredSdk {
  config: SdkConfig;
  publisherKey: PublicJwk;
  publisherFingerprint: string;
}

/** One active flow at a time: a second scan while a flow waits for the user is refused (`flow_active`). */
export class NextAuthSdk {
  private config: SdkConfig | null = null;
  /** The configuration as signed: servers that allow only some apps verify it themselves. */
  private configJws: string | null = null;
  private configProblem: SdkError | null = null;
  private current: SdkFlow | null = null;
  readonly accountStore: AccountStore;
  private readonly historyStore: HistoryStore;
  /** History writes in order, one at a time; `history()` waits for those already queued. */
  private historyWrites: Promise<void> = Promise.resolve();
  private readonly clock: Clock;

  private constructor(private readonly options: NextAuthSdkOptions) {
    this.clock = options.clock ?? systemClock;
    this.accountStore = createAccountStore(options.storage);
    this.historyStore = createHistoryStore(options.storage, options.historyRetentionDays);
  }

  /** Loads and re-verifies the stored configuration (it may have expired since it was stored). */
  static async open(options: NextAuthSdkOptions): Promise<NextAuthSdk> {
    const sdk = new NextAuthSdk(options);
    await sdk.loadStoredConfig();
    return sdk;
  }

  /** The verified SDK configuration, or null before `configure` (or when the stored one no longer verifies). */
  get configuration(): SdkConfig | null {
    return this.config;
  }

  /** Verifies a signed SDK configuration and stores it with the publisher key it verified under. */
  async configure(jws: string, options: ConfigureOptions = {}): Promise<ConfiguredSdk> {
    const stored = await this.readStoredConfig();
    let trusted: readonly PublicJwk[];
    if (this.options.trustedPublisherKeys) trusted = this.options.trustedPublisherKeys;
    else if (stored && !options.replaceTrustedKey) trusted = [stored.publisherKey];
    else if (options.publisherKey) trusted = [options.publisherKey];
    else throw new SdkError('config_invalid', 'no publisher key to verify the SDK configuration with');
    let config: SdkConfig;
    try {
      config = await verifySdkConfig(jws, trusted, this.clock);
    } catch (err) {
      if (err instanceof SdkConfigError) {
        const hint =
          err.code === 'untrusted_publisher' && stored && !this.options.trustedPublisherKeys
            ? ' (this device trusts another publisher key; re-initialise to replace it)'
            : '';
        throw new SdkError('config_invalid', `${err.message}${hint}`, { reason: err.code }, { cause: err });
      }
      throw err;
    }
    // The key that verified it: the first trusted key whose thumbprint is the JWS kid.
    let publisherKey: PublicJwk | undefined;
    const kid = decodeProtectedHeader(jws).kid;
    for (const key of trusted)
      if ((await publisherFingerprint(key).catch(() => null)) === kid) publisherKey = key;
    if (!publisherKey) throw new SdkError('internal', 'verified configuration without its publisher key');
    const publisher = { kty: 'EC' as const, crv: 'P-256' as const, x: publisherKey.x, y: publisherKey.y };
    await this.options.storage.set(CONFIG_STORAGE_KEY, { v: 1, jws, publisherKey: publisher });
    this.config = config;
    this.configJws = jws;
    this.configProblem = null;
    return { config, publisherKey: publisher, publisherFingerprint: await publisherFingerprint(publisher) };
  }

  /** Accounts on this device, on every server. */
  accounts(): Promise<Account[]> {
    return this.accountStore.list();
  }

  /**
   * Removes an account from this device and its key from the key store (the server is not told): the
   * DELETE_ACCOUNT flow with `localOnly`, run to its end.
   */
  async removeAccount(id: string): Promise<void> {
    const done = await this.startDeleteAccount(id, { localOnly: true }).settled();
    if (done.state === 'ERROR') throw done.error ?? new SdkError('internal', 'removal failed');
  }

  /** The outcomes of past flows on this device, newest first, without the expired ones. */
  async history(): Promise<HistoryEntry[]> {
    await this.historyWrites;
    return this.historyStore.list(this.clock.now());
  }

  /**
   * Resolves once the last flow's steps have returned and the history entries of finished flows are written
   * (a process about to exit waits for it, so no key store lock or half-done cleanup is left behind).
   */
  async idle(): Promise<void> {
    // A flow still waiting for the user is not waited for: only one that has ended but is still tidying up.
    if (this.current && !this.current.active) await this.current.finished();
    await this.historyWrites;
  }

  /** Forgets the history (the user's "clear history"). */
  async clearHistory(): Promise<void> {
    await this.historyWrites;
    await this.historyStore.clear();
  }

  /** The app instance as last registered at the SFS (undefined before the first flow that needed it). */
  instance(): Promise<InstanceRecord | undefined> {
    return readInstanceRecord(this.options.storage);
  }

  /**
   * Opens this app instance's MC inbox (docs/mc.md): registers it with the platform's push token, then
   * pull, listen, pending. Messages are decrypted on the device and handed over once each.
   */
  async openInbox(options: { push?: PushTokenSource } = {}): Promise<Inbox> {
    if (!this.config) throw this.configProblem ?? new SdkError('not_initialised', 'no SDK configuration yet');
    const { keyStore, storage, transports } = this.options;
    return Inbox.open({
      keyStore,
      storage,
      transports,
      mc: this.config.mc,
      clock: this.clock,
      onLogout: (notice) => this.recordLogout(notice),
      ...(this.options.push ? { push: this.options.push } : {}),
      ...options,
    });
  }

  /** Answers a push login from the inbox (`Inbox.take`): as a QR login from the challenge on. */
  startPushLogin(request: PushLoginPayload, options: LoginOptions = {}): LoginFlow {
    return this.begin(new LoginFlow(this.flowDeps(), request, options));
  }

  /** SIGN_TRANSACTION for a transaction from the inbox (`Inbox.take`). */
  startSignTransaction(
    request: TransactionPayload,
    options: SignTransactionOptions = {},
  ): SignTransactionFlow {
    return this.begin(new SignTransactionFlow(this.flowDeps(), request, options));
  }

  /** What a transaction from the inbox would show and sign, fetched from its server; answers nothing. */
  previewTransaction(request: TransactionPayload): Promise<TransactionContext> {
    return previewTransaction(this.flowDeps(), request);
  }

  /** A scanned `nextauth://transaction?d=…` as the request `startSignTransaction` takes (QR delivery). */
  transactionFromUri(uri: string): Promise<TransactionPayload> {
    return transactionRequestFromUri(this.flowDeps(), uri);
  }

  /** A login of one of this device's accounts ended at its server: `LOGGED_OUT` in the history. */
  private async recordLogout(notice: LogoutPayload): Promise<void> {
    const local = (await this.accountStore.findByServer(notice.server.nsUrl, notice.server.name)).find(
      (a) => a.nsAccountId === notice.account,
    );
    if (!local) return;
    const entry: HistoryEntry = {
      at: notice.at,
      flow: 'login',
      outcome: 'LOGGED_OUT',
      server: { id: local.server.id, name: local.server.name, nsUrl: local.server.nsUrl },
      userid: local.userid,
      accountId: local.id,
    };
    const now = this.clock.now();
    this.historyWrites = this.historyWrites.then(() => this.historyStore.add(entry, now)).catch(() => {});
    await this.historyWrites;
  }

  /** The flow that is still running, if any. */
  get activeFlow(): SdkFlow | null {
    return this.current?.active ? this.current : null;
  }

  /** Starts enrolment from a scanned `nextauth://enrol?...` URI. */
  startEnrol(uri: string): EnrolFlow {
    return this.begin(new EnrolFlow(this.flowDeps(), uri));
  }

  /** Starts a QR login from a scanned `nextauth://login?...` URI. */
  startLogin(uri: string, options: LoginOptions = {}): LoginFlow {
    return this.begin(new LoginFlow(this.flowDeps(), uri, options));
  }

  /** ADD_BIOMETRICS: the PIN, a biometric match, then a biometric key at the SFS (flow kind `add_biometrics`). */
  startAddBiometrics(options: AddBiometricsOptions = {}): AddBiometricsFlow {
    return this.begin(new AddBiometricsFlow(this.flowDeps(), options));
  }

  /** REMOVE_BIOMETRICS: deletes the biometric key on the device and at the SFS (no PIN asked). */
  startRemoveBiometrics(): RemoveBiometricsFlow {
    return this.begin(new RemoveBiometricsFlow(this.flowDeps()));
  }

  /** Whether logins can use biometrics now; reading it changes nothing (an invalidated key goes at the next login). */
  async biometricsStatus(): Promise<BiometricsStatus> {
    const biometrics = this.options.biometrics ?? noBiometrics;
    const { keyStore, storage } = this.options;
    const state = await bioKeyState({ keyStore, storage, biometrics });
    return {
      available: await biometrics.available(),
      enabled: state.state === 'ready',
      invalidated: state.state === 'invalidated',
    };
  }

  /**
   * HEADLESS_UPGRADE: rotates the account keys with their NS without asking the user anything (flow kind
   * `headless_upgrade`); accounts that fail stay as they were and are retried by the next run.
   */
  startHeadlessUpgrade(options: HeadlessUpgradeOptions = {}): HeadlessUpgradeFlow {
    return this.begin(new HeadlessUpgradeFlow(this.flowDeps({ needsConfig: false }), options));
  }

  /** Starts a PIN change: the current PIN, then the new one (flow kind `change_pin`). */
  startChangePin(options: ChangePinOptions = {}): ChangePinFlow {
    return this.begin(new ChangePinFlow(this.flowDeps(), options));
  }

  /**
   * Deletes an account at its NS (over the channel its key authenticates) and then from this device;
   * `localOnly` skips NS. Works without a configuration: only the NS is involved.
   */
  startDeleteAccount(id: string, options: DeleteAccountOptions = {}): DeleteAccountFlow {
    return this.begin(new DeleteAccountFlow(this.flowDeps({ needsConfig: false }), id, options));
  }

  private begin<F extends SdkFlow>(flow: F): F {
    if (this.activeFlow) throw new SdkError('flow_active', `a ${this.activeFlow.kind} flow is still running`);
    this.current = flow;
    const unsubscribe = flow.onChange((snapshot) => {
      if (snapshot.state !== 'DONE' && snapshot.state !== 'ERROR') return;
      unsubscribe();
      this.record(flow as Flow<unknown>, snapshot);
    });
    flow.start();
    return flow;
  }

  /** Queues the flow's history entry; a failing write is dropped (history never decides an outcome). */
  private record(flow: Flow<unknown>, snapshot: FlowSnapshot<unknown>): void {
    const about = flow.about;
    const base = {
      at: this.clock.now(),
      flow: flow.kind,
      server: about.server ?? null,
      userid: about.userid ?? null,
      accountId: about.accountId ?? null,
    };
    let entry: HistoryEntry;
    if (snapshot.state === 'DONE') entry = { ...base, ...flow.outcomeOf(snapshot.result) };
    else {
      const error = snapshot.error ?? new SdkError('internal');
      if (error.code === 'cancelled') entry = { ...base, outcome: 'ABORTED', reason: 'cancelled' };
      else {
        const { reason, attemptsLeft, retryAfterSeconds } = error.details;
        entry = {
          ...base,
          outcome: 'ERROR',
          error: {
            code: error.code,
            ...(reason !== undefined ? { reason: reason.slice(0, 80) } : {}),
            ...(attemptsLeft !== undefined ? { attemptsLeft } : {}),
            ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
          },
        };
      }
    }
    const now = this.clock.now();
    this.historyWrites = this.historyWrites.then(() => this.historyStore.add(entry, now)).catch(() => {});
  }

  private flowDeps(options: { needsConfig?: boolean } = {}): FlowDeps {
    const config = this.config;
    const problem = this.configProblem ?? new SdkError('not_initialised', 'no SDK configuration yet');
    if (!config && options.needsConfig !== false) throw problem;
    const { keyStore, storage, transports } = this.options;
    return {
      keyStore,
      storage,
      biometrics: this.options.biometrics ?? noBiometrics,
      accounts: this.accountStore,
      transports,
      clock: this.clock,
      openSfs: async () => {
        if (!config) throw problem;
        return SfsSession.open({ keyStore, storage, transports, sfs: config.sfs });
      },
      ...(this.options.deviceDescription !== undefined
        ? { deviceDescription: this.options.deviceDescription }
        : {}),
      ...(this.options.clientVersion !== undefined ? { clientVersion: this.options.clientVersion } : {}),
      ...(this.configJws !== null ? { sdkConfig: this.configJws } : {}),
    };
  }

  private async readStoredConfig(): Promise<z.output<typeof storedConfigSchema> | undefined> {
    const raw = await this.options.storage.get(CONFIG_STORAGE_KEY);
    if (raw === undefined) return undefined;
    const parsed = storedConfigSchema.safeParse(raw);
    if (!parsed.success) throw new SdkError('storage', 'the stored SDK configuration is unreadable');
    return parsed.data;
  }

  private async loadStoredConfig(): Promise<void> {
    const stored = await this.readStoredConfig();
    if (!stored) return;
    const trusted = this.options.trustedPublisherKeys ?? [stored.publisherKey];
    try {
      this.config = await verifySdkConfig(stored.jws, trusted, this.clock);
      this.configJws = stored.jws;
    } catch (err) {
      if (!(err instanceof SdkConfigError)) throw err;
      // Kept, not thrown: listing accounts must still work; flows report why they cannot start.
      this.configProblem = new SdkError('config_invalid', err.message, { reason: err.code }, { cause: err });
    }
  }
}
