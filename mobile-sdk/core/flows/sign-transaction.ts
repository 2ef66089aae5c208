// SIGN_TRANSACTION (issue #11): fetch the transaction on the account's NS channel, check that the template is
// the one whose hash is signed, show template + values (CONFIRM_TRANSACTION), confirm with the PIN (or
// biometrics where the server allows), sign the JCS with the account key and send it with the attestation.
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { thumbprint } from '../../../protocol/keys.js';
import { type TransactionPayload, transactionIdOf } from '../../../protocol/mobile/mc-payloads.js';
import {
  canonicalTransaction,
  renderTemplate,
  signTransaction,
  templateHash,
  transactionDigest,
} from '../../../protocol/mobile/transaction.js';
import { parseTransactionUri, type TransactionUriData } from '../../../protocol/mobile/uris.js';
import type { Account } from '../accounts/model.js';
import { SdkError, toSdkError } from '../errors.js';
import { openAccountChannel } from './account-channel.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';
import { attestSecondFactor, type SecondFactorMode } from './second-factor.js';
import type { BiometricFallback, ServerContext, TransactionContext } from './types.js';

export interface SignTransactionResult {
  outcome: 'approved' | 'declined';
  account: Account;
  tid: string;
  /** What was shown and signed. */
  text: string;
  method?: 'pin' | 'bio';
  fallback?: BiometricFallback;
}

export interface SignTransactionOptions {
  /** `auto` (default): biometrics where the device has a key and the server allows them, else the PIN. */
  secondFactor?: SecondFactorMode;
}

export class SignTransactionFlow extends Flow<SignTransactionResult> {
  constructor(
    private readonly deps: FlowDeps,
    /** The transaction message opened from the MC inbox. */
    private readonly request: TransactionPayload,
    private readonly options: SignTransactionOptions = {},
  ) {
    super('sign_transaction');
  }

  outcomeOf(result: SignTransactionResult): FlowOutcome {
    return result.outcome === 'approved' ? { outcome: 'SIGNED' } : { outcome: 'ABORTED', reason: 'declined' };
  }

  protected async run(): Promise<SignTransactionResult> {
    const { request } = this;
    const tid = transactionIdOf(request);
    let account = await findAccount(this.deps, request);
    this.subject.server = { id: account.server.id, name: account.server.name, nsUrl: account.server.nsUrl };
    this.subject.userid = account.userid;
    this.subject.accountId = account.id;
    const opened = await openAccountChannel(this.deps, account);
    const ns = opened.channel;
    this.onCleanup(() => ns.close());
    account = opened.account;

    const got = await ns.request('transaction.get', { tid });
    const context = await transactionContext(
      got,
      {
        id: got.data.server,
        name: account.server.name,
        displayName: request.server.displayName,
        nsUrl: account.server.nsUrl,
      },
      account.userid,
    );
    if (got.data.tid !== tid) throw new SdkError('bad_transaction', 'the server sent another transaction');

    const confirm = await this.ask({ type: 'CONFIRM_TRANSACTION', context });
    if (confirm.decision !== 'approve') {
      await ns.request('transaction.decline', { tid });
      return { outcome: 'declined', account, tid, text: context.text };
    }

    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    const challenge = await attestationChallenge({
      serverId: got.data.server,
      accountKeyThumbprint: await thumbprint(opened.signer.publicKey),
      transcriptHash: ns.session.info.transcriptHash,
      purpose: 'transaction',
      transactionDigest: await transactionDigest(got.data),
    });
    const confirmed = await attestSecondFactor({
      ask: (i) => this.ask(i),
      sfs,
      server: context.server,
      challenge,
      mode: got.pinRequired ? 'pin' : (this.options.secondFactor ?? 'auto'),
      bio: { keyStore: this.deps.keyStore, storage: this.deps.storage, biometrics: this.deps.biometrics },
      reason: context.text,
      ensureActive: () => this.ensureActive(),
    });
    this.ensureActive();
    const signature = await signTransaction(opened.signer, got.data);
    await ns.request('transaction.confirm', {
      tid,
      signature,
      attestation: confirmed.attestation,
    });
    return {
      outcome: 'approved',
      account,
      tid,
      text: context.text,
      method: confirmed.method,
      ...(confirmed.fallback !== undefined ? { fallback: confirmed.fallback } : {}),
    };
  }
}

/**
 * What the user is shown, computed on the device: the template must be the one whose SHA-256 is in the
 * signed data, and the text is rendered here from it and the signed values (never taken from the server).
 */
export async function transactionContext(
  got: {
    data: Parameters<typeof canonicalTransaction>[0];
    template: string;
    pinRequired: boolean;
    expiresAt: number;
  },
  server: ServerContext,
  userid: string,
): Promise<TransactionContext> {
  const { data } = got;
  if ((await templateHash(got.template)) !== data.template.sha256)
    throw new SdkError('bad_transaction', 'the template is not the one named in the signed data');
  let text: string;
  try {
    text = renderTemplate(got.template, data.values);
  } catch (err) {
    throw new SdkError('bad_transaction', (err as Error).message);
  }
  return {
    server,
    userid,
    tid: data.tid,
    type: data.type,
    locale: data.locale,
    text,
    template: { id: data.template.id, text: got.template, sha256: data.template.sha256 },
    values: data.values,
    canonical: canonicalTransaction(data),
    ...(data.bindingMessage !== undefined ? { bindingMessage: data.bindingMessage } : {}),
    pinRequired: got.pinRequired,
    expiresAt: got.expiresAt,
  };
}

/** Opens the account's channel, fetches the transaction and closes again: what `pending --show` prints. */
export async function previewTransaction(
  deps: FlowDeps,
  request: TransactionPayload,
): Promise<TransactionContext> {
  const account = await findAccount(deps, request);
  const { channel } = await openAccountChannel(deps, account);
  try {
    const got = await channel.request('transaction.get', { tid: transactionIdOf(request) });
    if (got.data.tid !== transactionIdOf(request))
      throw new SdkError('bad_transaction', 'the server sent another transaction');
    return await transactionContext(
      got,
      {
        id: got.data.server,
        name: account.server.name,
        displayName: request.server.displayName,
        nsUrl: account.server.nsUrl,
      },
      account.userid,
    );
  } finally {
    await channel.close().catch(() => {});
  }
}

async function findAccount(deps: FlowDeps, request: TransactionPayload): Promise<Account> {
  const candidates = await deps.accounts.findByServer(request.server.nsUrl, request.server.name);
  const account = candidates.find((a) => a.nsAccountId === request.account);
  if (!account)
    throw new SdkError(
      'account_not_found',
      `no account on this device for server ${request.server.name} at ${request.server.nsUrl}`,
    );
  return account;
}

/**
 * The transaction a scanned `nextauth://transaction?d=…` names, as its MC message would: the account of this
 * device that may answer it (the first at that server whose channel can fetch it) and its expiry. Then
 * SIGN_TRANSACTION runs as for a push.
 */
export async function transactionRequestFromUri(deps: FlowDeps, uri: string): Promise<TransactionPayload> {
  let data: TransactionUriData;
  try {
    data = parseTransactionUri(uri);
  } catch (err) {
    throw new SdkError('invalid_input', (err as Error).message);
  }
  const candidates = await deps.accounts.findByServer(data.ns, data.s);
  if (candidates.length === 0)
    throw new SdkError('account_not_found', `no account on this device for server ${data.s} at ${data.ns}`);
  let last: unknown;
  for (const candidate of candidates) {
    const { channel, account } = await openAccountChannel(deps, candidate);
    try {
      const got = await channel.request('transaction.get', { tid: data.t });
      if (got.data.tid !== data.t)
        throw new SdkError('bad_transaction', 'the server sent another transaction');
      const { id, name, displayName, nsUrl } = account.server;
      return {
        v: 1,
        type: 'transaction',
        id: data.t,
        server: { id, name, displayName, nsUrl },
        account: account.nsAccountId,
        userid: account.userid,
        expiresAt: got.expiresAt,
      };
    } catch (err) {
      // Another account of this device at the same server may be the one of the transaction's user.
      if ((err as { code?: unknown }).code !== 'unknown_transaction') throw toSdkError(err);
      last = err;
    } finally {
      await channel.close().catch(() => {});
    }
  }
  throw toSdkError(last);
}
