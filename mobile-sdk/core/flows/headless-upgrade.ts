// HEADLESS_UPGRADE: rotates each account key with its NS, without the user (no interaction is ever asked).
import { b64u } from '../../../protocol/encoding.js';
import { publicKeyFromJwk, thumbprint } from '../../../protocol/keys.js';
import { accountRotationSignedData } from '../../../protocol/mobile/account-rotation.js';
import type { Account } from '../accounts/model.js';
import { SdkError, toSdkError } from '../errors.js';
import { newAlias } from '../keys.js';
import { openAccountChannel } from './account-channel.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';

export interface HeadlessUpgradeOptions {
  /** Only this account (default: every account on the device). */
  accountId?: string;
}

export interface HeadlessUpgradeResult {
  /** Local ids of the accounts whose key was rotated. */
  rotated: string[];
  /** Accounts left as they were (NS unreachable, refused…); a later run retries them with the same new key. */
  failed: { accountId: string; code: string; reason?: string }[];
}

/**
 * Why rotate: an account key made by an older SDK (or suspected of exposure) is replaced by a fresh one in
 * the current key store, and NS learns it over the channel the old key authenticates. Safe to interrupt
 * anywhere: the next key is recorded (`pendingKeyAlias`) before NS is asked, and a retry that finds NS
 * already switched (the old key opens no channel, the new one does) only finishes the device's side.
 */
export class HeadlessUpgradeFlow extends Flow<HeadlessUpgradeResult> {
  constructor(
    private readonly deps: FlowDeps,
    private readonly options: HeadlessUpgradeOptions = {},
  ) {
    super('headless_upgrade');
  }

  outcomeOf(result: HeadlessUpgradeResult): FlowOutcome {
    return result.failed.length === 0 ? { outcome: 'UPGRADED' } : { outcome: 'UPGRADED', reason: 'partial' };
  }

  protected async run(): Promise<HeadlessUpgradeResult> {
    const all = await this.deps.accounts.list();
    const wanted = this.options.accountId;
    const accounts = wanted === undefined ? all : all.filter((a) => a.id === wanted);
    if (wanted !== undefined && accounts.length === 0)
      throw new SdkError('account_not_found', `no account ${wanted} on this device`);
    const result: HeadlessUpgradeResult = { rotated: [], failed: [] };
    for (const account of accounts) {
      this.ensureActive();
      try {
        await this.rotate(account);
        result.rotated.push(account.id);
      } catch (err) {
        const e = toSdkError(err);
        if (e.code === 'cancelled') throw e;
        result.failed.push({
          accountId: account.id,
          code: e.code,
          ...(e.details.reason !== undefined ? { reason: e.details.reason } : {}),
        });
      }
    }
    return result;
  }

  private async rotate(start: Account): Promise<void> {
    const { keyStore, accounts } = this.deps;
    let account = start;
    if (account.pendingKeyAlias === undefined || !(await keyStore.has(account.pendingKeyAlias))) {
      const alias = newAlias('account');
      await keyStore.generate(alias, 'ecdsa-p256');
      account = { ...account, pendingKeyAlias: alias };
      await accounts.save(account);
    }
    const pending = account.pendingKeyAlias as string;
    const newJwk = await keyStore.publicJwk(pending);
    const newThumbprint = await thumbprint(publicKeyFromJwk(newJwk));

    let opened: Awaited<ReturnType<typeof openAccountChannel>>;
    try {
      opened = await openAccountChannel(this.deps, account);
    } catch (err) {
      // NS no longer knows the old key: either it switched already (an answer lost last time) or the
      // account is gone. Only a channel opened with the new key tells which.
      if (!(err instanceof SdkError && err.details.reason === 'bad_client_key')) throw err;
      const moved = { ...account, accountKeyAlias: pending, accountKeyThumbprint: newThumbprint };
      const probe = await openAccountChannel(this.deps, moved).catch(() => null);
      if (!probe) throw err;
      await probe.channel.close().catch(() => {});
      await this.commit(probe.account, account.accountKeyAlias, pending, newThumbprint);
      return;
    }
    const ns = opened.channel;
    try {
      account = opened.account;
      const data = accountRotationSignedData(ns.session.info.transcriptHash, newThumbprint);
      const oldSignature = b64u(await keyStore.sign(account.accountKeyAlias, data));
      const newSignature = b64u(await keyStore.sign(pending, data));
      this.ensureActive();
      await ns.request('account.rotate', {
        newKey: { kty: 'EC', crv: 'P-256', x: newJwk.x, y: newJwk.y },
        oldSignature,
        newSignature,
      });
    } finally {
      await ns.close().catch(() => {});
    }
    await this.commit(account, account.accountKeyAlias, pending, newThumbprint);
  }

  /** NS holds the new key: the account follows it, then the old key goes (it opens nothing any more). */
  private async commit(
    account: Account,
    oldAlias: string,
    pending: string,
    newThumbprint: string,
  ): Promise<void> {
    const { pendingKeyAlias: _done, ...rest } = account;
    await this.deps.accounts.save({ ...rest, accountKeyAlias: pending, accountKeyThumbprint: newThumbprint });
    if (oldAlias !== pending) await this.deps.keyStore.delete(oldAlias).catch(() => {});
  }
}
