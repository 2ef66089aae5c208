// ADD_BIOMETRICS: the PIN (checked by the SFS), a biometric match, then a biometric key registered at the SFS.
import type { Account } from '../accounts/model.js';
import { readBioRecord, saveBioRecord } from '../biometrics/bio-key.js';
import { SdkError } from '../errors.js';
import { newAlias } from '../keys.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';
import { pickAccount } from './pick-account.js';
import { attemptsLeftOrThrow } from './second-factor.js';
import type { ServerContext } from './types.js';

export interface AddBiometricsOptions {
  /** The account whose server's policy counts a wrong PIN (default: the most recently used). */
  accountId?: string;
}

export interface AddBiometricsResult {
  account: Account;
  /** True when an earlier biometric key of this device was replaced. */
  replaced: boolean;
}

export class AddBiometricsFlow extends Flow<AddBiometricsResult> {
  constructor(
    private readonly deps: FlowDeps,
    private readonly options: AddBiometricsOptions = {},
  ) {
    super('add_biometrics');
  }

  outcomeOf(): FlowOutcome {
    return { outcome: 'BIO_ADDED' };
  }

  protected async run(): Promise<AddBiometricsResult> {
    const { biometrics, keyStore, storage } = this.deps;
    const account = await pickAccount(this.deps.accounts, this.options.accountId, 'adding biometrics');
    this.subject.server = { id: account.server.id, name: account.server.name, nsUrl: account.server.nsUrl };
    this.subject.userid = account.userid;
    this.subject.accountId = account.id;
    const server: ServerContext = {
      id: account.server.id,
      name: account.server.name,
      displayName: account.server.displayName,
      nsUrl: account.server.nsUrl,
    };
    // Checked before anything is asked: without a sensor and an enrolled biometric there is nothing to bind to.
    const enrolmentId = (await biometrics.available()) ? await biometrics.enrolmentId() : null;
    if (enrolmentId === null)
      throw new SdkError('bio_unavailable', 'no biometric is enrolled on this device');

    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    if (!sfs.pinSet)
      throw new SdkError('rejected', 'this app instance has no PIN yet', { reason: 'pin_not_set' });

    let attemptsLeft: number | null = null;
    let pin = (await this.ask({ type: 'VERIFY_SECOND_FACTOR', server, attemptsLeft, purpose: 'bio_add' }))
      .pin;
    this.ensureActive();
    // The user shows the biometric once before a key is bound to it (on a phone, the key's first use).
    if ((await biometrics.authenticate('Use biometrics to confirm logins')) !== 'success')
      throw new SdkError('bio_failed', 'the biometric prompt did not match');

    const previous = await readBioRecord(storage);
    for (;;) {
      this.ensureActive();
      // A fresh key per attempt, deleted again before anything else can happen: no key lingers that the SFS
      // does not know (a wrong PIN, a cancel while the user retypes it, a lost channel).
      const alias = newAlias('bio');
      await keyStore.generate(alias, 'ecdsa-p256');
      let registered = false;
      try {
        const outcome = await sfs.registerBioKey(server.id, pin, await keyStore.publicJwk(alias));
        if (outcome.ok) {
          await saveBioRecord(storage, { v: 1, alias, enrolmentId, createdAt: this.deps.clock.now() });
          registered = true;
          // The SFS replaced the old public key with the new one: the old private key is of no use any more.
          if (previous && previous.alias !== alias) await keyStore.delete(previous.alias).catch(() => {});
          return { account, replaced: previous !== undefined };
        }
        attemptsLeft = attemptsLeftOrThrow(outcome);
      } finally {
        if (!registered) await keyStore.delete(alias).catch(() => {});
      }
      pin = (await this.ask({ type: 'VERIFY_SECOND_FACTOR', server, attemptsLeft, purpose: 'bio_add' })).pin;
    }
  }
}
