// DELETE_ACCOUNT: NS deletes the account (asked on the account's own channel), then the device forgets it.
import type { Account } from '../accounts/model.js';
import { SdkError, toSdkError } from '../errors.js';
import { openAccountChannel } from './account-channel.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';

export interface DeleteAccountOptions {
  /** Only remove it from this device; NS keeps the account (and its public key) until an admin removes it. */
  localOnly?: boolean;
}

/**
 * `deleted`: NS deleted it now; `not_found`: NS no longer knows the key (deleted or blocked by an admin);
 * `skipped`: NS was not asked (`localOnly`).
 */
export type NsDeletion = 'deleted' | 'not_found' | 'skipped';

export interface DeleteAccountResult {
  account: Account;
  ns: NsDeletion;
}

/** Codes by which NS says it has no (usable) account for the key: nothing is left to delete there. */
function accountGoneAtNs(err: SdkError): boolean {
  if (err.code === 'channel_failed') return err.details.reason === 'bad_client_key';
  return err.code === 'rejected' && err.details.reason === 'unknown_account';
}

export class DeleteAccountFlow extends Flow<DeleteAccountResult> {
  constructor(
    private readonly deps: FlowDeps,
    private readonly accountId: string,
    private readonly options: DeleteAccountOptions = {},
  ) {
    super('delete_account');
  }

  outcomeOf(result: DeleteAccountResult): FlowOutcome {
    if (result.ns === 'skipped') return { outcome: 'DELETED', reason: 'local_only' };
    return result.ns === 'not_found'
      ? { outcome: 'DELETED', reason: 'not_found_at_ns' }
      : { outcome: 'DELETED' };
  }

  protected async run(): Promise<DeleteAccountResult> {
    const account = await this.deps.accounts.get(this.accountId);
    if (!account) throw new SdkError('account_not_found', `no account ${this.accountId} on this device`);
    this.subject.server = { id: account.server.id, name: account.server.name, nsUrl: account.server.nsUrl };
    this.subject.userid = account.userid;
    this.subject.accountId = account.id;
    const ns = this.options.localOnly ? 'skipped' : await this.deleteAtNs(account);
    // Once NS has deleted it the key opens nothing: it goes from the device even if the app cancelled meanwhile.
    await this.deps.accounts.delete(account.id);
    await this.deps.keyStore.delete(account.accountKeyAlias);
    return { account, ns };
  }

  /** An unreachable NS keeps the account on the device: the user retries, or chooses `localOnly`. */
  private async deleteAtNs(account: Account): Promise<NsDeletion> {
    try {
      const { channel } = await openAccountChannel(this.deps, account);
      this.onCleanup(() => channel.close());
      this.ensureActive();
      await channel.request('account.delete', {});
      return 'deleted';
    } catch (err) {
      const error = toSdkError(err);
      if (accountGoneAtNs(error)) return 'not_found';
      throw error;
    }
  }
}
