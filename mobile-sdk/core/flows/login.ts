// LOGIN: scan the login URI, open the account's channel, confirm, PIN at the SFS, approve with the attestation.
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { thumbprint } from '../../../protocol/keys.js';
import { type LoginUriData, parseLoginUri } from '../../../protocol/mobile/index.js';
import type { PushLoginPayload } from '../../../protocol/mobile/mc-payloads.js';
import type { Account } from '../accounts/model.js';
import { SdkError } from '../errors.js';
import { pushKeyFields } from '../mc/push-key.js';
import { openAccountChannel } from './account-channel.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';
import { attestSecondFactor, type SecondFactorMode } from './second-factor.js';
import type { BiometricFallback, ServerContext } from './types.js';

export type LoginOutcome = 'approved' | 'declined' | 'not_me';

export interface LoginResult {
  outcome: LoginOutcome;
  account: Account;
  /** Approved only: what confirmed it (the attestation's method, which NS passes on as `amr`). */
  method?: 'pin' | 'bio';
  /** Approved with the PIN although biometrics were meant to be used: why (e.g. `bio_invalidated`). */
  fallback?: BiometricFallback;
}

export interface LoginOptions {
  /** Which local account to use when several are enrolled at the server (default: the most recently used). */
  accountId?: string;
  /** `auto` (default): biometrics where the device has a valid biometric key, else the PIN. */
  secondFactor?: SecondFactorMode;
  /** Push login: the number the browser shows, as the user typed it (needed to approve). */
  match?: number;
}

export function parseLogin(uri: string): LoginUriData {
  try {
    return parseLoginUri(uri.trim());
  } catch (err) {
    throw new SdkError('invalid_uri', (err as Error).message);
  }
}

export class LoginFlow extends Flow<LoginResult> {
  constructor(
    private readonly deps: FlowDeps,
    /** A scanned `nextauth://login?...` URI, or a push login opened from the MC inbox. */
    private readonly source: string | PushLoginPayload,
    private readonly options: LoginOptions = {},
  ) {
    super('login');
  }

  outcomeOf(result: LoginResult): FlowOutcome {
    return result.outcome === 'approved'
      ? { outcome: 'LOGGED_IN' }
      : { outcome: 'ABORTED', reason: result.outcome };
  }

  protected async run(): Promise<LoginResult> {
    const push = typeof this.source === 'string' ? undefined : this.source;
    const data: LoginUriData =
      push === undefined
        ? parseLogin(this.source as string)
        : { v: 1, ns: push.server.nsUrl, s: push.server.name, c: push.code };
    let account = await this.findAccount(data, push?.account);
    this.subject.server = { id: account.server.id, name: account.server.name, nsUrl: account.server.nsUrl };
    this.subject.userid = account.userid;
    this.subject.accountId = account.id;
    const opened = await openAccountChannel(this.deps, account);
    const ns = opened.channel;
    this.onCleanup(() => ns.close());
    account = opened.account;
    const signer = opened.signer;

    const { match } = this.options;
    const scan =
      push === undefined
        ? await ns.request('login.scan', { code: data.c })
        : await ns.request('login.push', {
            request: push.id,
            code: push.code,
            ...(match !== undefined ? { match } : {}),
          });
    const server: ServerContext = { ...scan.server, nsUrl: account.server.nsUrl };
    const confirm = await this.ask({
      type: 'CONFIRM',
      context: {
        kind: 'login',
        server,
        userid: scan.userid,
        info: scan.info ?? null,
        browser: scan.browser,
        expiresAt: scan.expiresAt,
      },
    });
    if (confirm.decision !== 'approve') {
      const reason = confirm.decision === 'not_me' ? 'not_me' : 'declined';
      await ns.request('login.decline', { login: scan.login, reason });
      return { outcome: reason, account };
    }

    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    const challenge = await attestationChallenge({
      serverId: scan.server.id,
      accountKeyThumbprint: await thumbprint(signer.publicKey),
      transcriptHash: ns.session.info.transcriptHash,
      purpose: 'login',
    });
    const confirmed = await attestSecondFactor({
      ask: (i) => this.ask(i),
      sfs,
      server,
      challenge,
      mode: this.options.secondFactor ?? 'auto',
      bio: { keyStore: this.deps.keyStore, storage: this.deps.storage, biometrics: this.deps.biometrics },
      reason: `Log in as ${scan.userid} at ${server.displayName || server.name}`,
      ensureActive: () => this.ensureActive(),
    });
    this.ensureActive();
    const pushFields = await pushKeyFields(this.deps.keyStore, ns.session.info.transcriptHash);
    await ns.request('login.confirm', {
      login: scan.login,
      attestation: confirmed.attestation,
      ...pushFields,
    });
    account = { ...account, lastLoginAt: this.deps.clock.now() };
    await this.deps.accounts.save(account);
    return {
      outcome: 'approved',
      account,
      method: confirmed.method,
      ...(confirmed.fallback !== undefined ? { fallback: confirmed.fallback } : {}),
    };
  }

  private async findAccount(data: LoginUriData, nsAccountId?: string): Promise<Account> {
    const candidates = await this.deps.accounts.findByServer(data.ns, data.s);
    const wanted = this.options.accountId;
    const account =
      nsAccountId !== undefined
        ? candidates.find((a) => a.nsAccountId === nsAccountId)
        : wanted === undefined
          ? candidates[0]
          : candidates.find((a) => a.id === wanted);
    if (!account)
      throw new SdkError(
        'account_not_found',
        wanted === undefined
          ? `no account on this device for server ${data.s} at ${data.ns}`
          : `account ${wanted} is not enrolled at server ${data.s} at ${data.ns}`,
      );
    return account;
  }
}
