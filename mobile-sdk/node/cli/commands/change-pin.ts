// `nextauth-device change-pin`: the current PIN and a new one (flags for scripts, hidden prompts for people).
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import { driveFlow } from '../../../core/flows/drive.js';
import { cliAnswerer, needsTerminal } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { askHidden, interactive } from '../terminal.js';

interface ChangePinOptions {
  old?: string;
  new?: string;
  account?: string;
}

async function changePin(options: ChangePinOptions, global: GlobalOptions): Promise<void> {
  if (!interactive()) {
    if (options.old === undefined) throw needsTerminal('pass --old');
    if (options.new === undefined) throw needsTerminal('pass --new');
  }
  const sdk = await openDevice(global);
  // The current PIN is answered like a login PIN: the flag once, then (after a wrong one) only a person.
  const answerer = cliAnswerer(
    { ...(options.old !== undefined ? { pin: options.old } : {}) },
    { enrol: false },
  );
  const result = await driveFlow(
    sdk.startChangePin(options.account !== undefined ? { accountId: options.account } : {}),
    {
      ...answerer,
      async newPin() {
        if (options.new !== undefined) return options.new;
        const pin = await askHidden('New PIN: ');
        if ((await askHidden('Repeat the new PIN: ')) !== pin)
          throw new SdkError('invalid_input', 'the PINs do not match');
        return pin;
      },
    },
  );
  const a = result.account;
  output(
    global,
    { outcome: 'pin_changed', checkedAt: { server: a.server.name, nsUrl: a.server.nsUrl, account: a.id } },
    'PIN changed (it is the PIN of this device, for every account).',
  );
}

export function registerChangePin(program: Command, global: () => GlobalOptions): void {
  program
    .command('change-pin')
    .description('change the PIN of this device: the current one, then the new one')
    .option('--old <pin>', 'the current PIN (asked at a terminal if missing)')
    .option('--new <pin>', 'the new PIN (asked twice at a terminal if missing)')
    .option('--account <id>', "whose server's PIN policy counts a wrong current PIN (default: the last used)")
    .action((options: ChangePinOptions) => changePin(options, global()));
}
