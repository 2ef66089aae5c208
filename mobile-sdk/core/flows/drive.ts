// Runs a flow to its end with an answerer for each interaction (CLIs, scripted tests, simple apps).
import { SdkError, toSdkError } from '../errors.js';
import type { Flow } from './flow.js';
import type { Answer, ConfirmContext, ConfirmDecision, Interaction, TransactionContext } from './types.js';

/** Supplies the user's answers; throwing ends the flow with that error (e.g. no PIN and nobody to ask). */
export interface FlowAnswerer {
  confirm(context: ConfirmContext): Promise<ConfirmDecision>;
  /** SIGN_TRANSACTION: approve or decline exactly what `context.text` shows (absent: cannot sign). */
  confirmTransaction?(context: TransactionContext): Promise<'approve' | 'decline'>;
  /** A new PIN for an instance that has none. */
  newPin(): Promise<string>;
  /** The PIN; `attemptsLeft` is set after a wrong one. */
  pin(interaction: Extract<Interaction, { type: 'VERIFY_SECOND_FACTOR' }>): Promise<string>;
}

async function answer(interaction: Interaction, answerer: FlowAnswerer): Promise<Answer> {
  switch (interaction.type) {
    case 'CONFIRM':
      return { type: 'CONFIRM', decision: await answerer.confirm(interaction.context) };
    case 'CONFIRM_TRANSACTION': {
      if (!answerer.confirmTransaction)
        throw new SdkError('invalid_input', 'this app cannot sign transactions');
      return {
        type: 'CONFIRM_TRANSACTION',
        decision: await answerer.confirmTransaction(interaction.context),
      };
    }
    case 'SET_SECOND_FACTOR':
      return { type: 'SET_SECOND_FACTOR', pin: await answerer.newPin() };
    case 'VERIFY_SECOND_FACTOR':
      return { type: 'VERIFY_SECOND_FACTOR', pin: await answerer.pin(interaction) };
  }
}

/** Resolves with the flow's result, or rejects with its SdkError. */
export async function driveFlow<R>(flow: Flow<R>, answerer: FlowAnswerer): Promise<R> {
  for (;;) {
    const step = await flow.settled();
    if (step.state === 'DONE') return step.result as R;
    if (step.state === 'ERROR') throw step.error as SdkError;
    if (!step.interaction) continue;
    try {
      flow.respond(await answer(step.interaction, answerer));
    } catch (err) {
      flow.cancel(toSdkError(err));
    }
  }
}
