// CHANGE_PIN: the current PIN and a new one, checked and replaced at the SFS under one server's PIN policy.
import type { Account } from '../accounts/model.js';
import { SdkError } from '../errors.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';
import { pickAccount } from './pick-account.js';
import { attemptsLeftOrThrow } from './second-factor.js';
import type { ServerContext } from './types.js';

export interface ChangePinOptions {
  /**
   * The account whose server's policy counts a wrong current PIN (default: the most recently used). The PIN
   * belongs to the app instance, so it changes for every account on the device.
   */
  accountId?: string;
}

export interface ChangePinResult {
  /** The account whose server's policy counted the check. */
  account: Account;
}

export class ChangePinFlow extends Flow<ChangePinResult> {
  constructor(
    private readonly deps: FlowDeps,
    private readonly options: ChangePinOptions = {},
  ) {
    super('change_pin');
  }

  outcomeOf(): FlowOutcome {
    return { outcome: 'PIN_CHANGED' };
  }

  protected async run(): Promise<ChangePinResult> {
    const account = await pickAccount(this.deps.accounts, this.options.accountId, 'a PIN change');
    this.subject.server = { id: account.server.id, name: account.server.name, nsUrl: account.server.nsUrl };
    this.subject.userid = account.userid;
    this.subject.accountId = account.id;
    const server: ServerContext = {
      id: account.server.id,
      name: account.server.name,
      displayName: account.server.displayName,
      nsUrl: account.server.nsUrl,
    };

    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    // The SFS's own word (registration): a device restored from a backup may think otherwise.
    if (!sfs.pinSet)
      throw new SdkError('rejected', 'this app instance has no PIN to change', { reason: 'pin_not_set' });

    let attemptsLeft: number | null = null;
    let oldPin = (
      await this.ask({ type: 'VERIFY_SECOND_FACTOR', server, attemptsLeft, purpose: 'change_old' })
    ).pin;
    const newPin = (await this.ask({ type: 'SET_SECOND_FACTOR', purpose: 'change_new' })).pin;
    // Caught here, not at the SFS: an unchanged PIN would cost nothing but teach the user nothing either.
    if (newPin === oldPin) throw new SdkError('invalid_input', 'the new PIN is the current one');
    for (;;) {
      this.ensureActive();
      const outcome = await sfs.changePin(server.id, oldPin, newPin);
      if (outcome.ok) return { account };
      attemptsLeft = attemptsLeftOrThrow(outcome);
      // Only the current PIN was wrong: the new one the user chose still stands.
      oldPin = (await this.ask({ type: 'VERIFY_SECOND_FACTOR', server, attemptsLeft, purpose: 'change_old' }))
        .pin;
    }
  }
}
