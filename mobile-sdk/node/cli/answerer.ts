// Answers flow interactions from command-line flags, asking at the terminal only when a flag is missing.
import { SdkError } from '../../core/errors.js';
import type { FlowAnswerer } from '../../core/flows/drive.js';
import type { ConfirmContext, ConfirmDecision, TransactionContext } from '../../core/flows/types.js';
import { ask, askHidden, askYesNo, interactive } from './terminal.js';

export interface AnswerFlags {
  pin?: string;
  /** The decision given on the command line, if any. */
  decision?: ConfirmDecision;
}

/** The integrator's text in quotes, so it reads as theirs and not as the app's own words. */
const about = (context: ConfirmContext) => (context.info ? ` ("${context.info}")` : '');

/** Who is asking for what, in the words the user sees on a phone's confirmation screen. */
export function describeContext(context: ConfirmContext): string {
  const where = `${context.server.displayName || context.server.name} (${context.server.nsUrl})`;
  if (context.kind === 'enrol') {
    const key = context.serverKey
      ? ` Server key: ${context.serverKey.emoji.join(' ')} (${context.serverKey.text}).`
      : '';
    return `Enrol as ${context.userid}${about(context)} at ${where}?${key}`;
  }
  const b = context.browser;
  // The location has commas of its own ("London, United Kingdom"): it goes in brackets after the address.
  const address = b?.ip && b.location ? `${b.ip} (${b.location})` : (b?.ip ?? b?.location);
  const from = [b?.userAgent, address].filter(Boolean).join(', ');
  return `Log in as ${context.userid}${about(context)} at ${where}${from ? ` from ${from}` : ''}?`;
}

export function needsTerminal(what: string): SdkError {
  return new SdkError('invalid_input', `${what} (stdin is not a terminal)`);
}

export function cliAnswerer(flags: AnswerFlags, options: { enrol: boolean }): FlowAnswerer {
  let pinFlag = flags.pin;
  return {
    async confirm(context) {
      if (flags.decision) return flags.decision;
      // Running `enrol` without a terminal is itself the consent; a person at a terminal is asked.
      if (!interactive()) {
        if (options.enrol) return 'approve';
        throw needsTerminal('pass --approve, --deny or --not-me');
      }
      if (context.kind === 'enrol') return (await askYesNo(describeContext(context))) ? 'approve' : 'decline';
      const reply = await ask(`${describeContext(context)} [y = approve / n = decline / x = not me] `);
      if (/^y(es)?$/i.test(reply)) return 'approve';
      return /^x$/i.test(reply) ? 'not_me' : 'decline';
    },
    async confirmTransaction(context: TransactionContext) {
      if (flags.decision === 'approve' || flags.decision === 'decline') return flags.decision;
      if (!interactive()) throw needsTerminal('pass approve or deny');
      // Exactly what is signed: the rendered text, then the canonical data it comes from.
      const where = `${context.server.displayName || context.server.name} (${context.server.nsUrl})`;
      process.stderr.write(
        `${where} asks ${context.userid} to sign:\n  ${context.text}\n  signs: ${context.canonical}\n`,
      );
      return (await askYesNo('Approve?')) ? 'approve' : 'decline';
    },
    async newPin() {
      if (pinFlag !== undefined) return pinFlag;
      if (!interactive()) throw needsTerminal('pass --pin to set the PIN of this device');
      const pin = await askHidden('New PIN: ');
      if ((await askHidden('Repeat the new PIN: ')) !== pin)
        throw new SdkError('invalid_input', 'the PINs do not match');
      return pin;
    },
    async pin(interaction) {
      // The flag answers the first ask only: after a wrong PIN it would just burn another attempt.
      if (pinFlag !== undefined && interaction.attemptsLeft === null) {
        const pin = pinFlag;
        pinFlag = undefined;
        return pin;
      }
      if (!interactive()) {
        if (interaction.attemptsLeft !== null)
          throw new SdkError('pin_invalid', undefined, { attemptsLeft: interaction.attemptsLeft });
        throw needsTerminal('pass --pin');
      }
      const left = interaction.attemptsLeft;
      if (interaction.fallback !== undefined && left === null)
        process.stderr.write(`Biometrics not used (${interaction.fallback}): enter the PIN instead.\n`);
      return askHidden(
        left === null ? 'PIN: ' : `Wrong PIN, ${left} attempt${left === 1 ? '' : 's'} left. PIN: `,
      );
    },
  };
}
