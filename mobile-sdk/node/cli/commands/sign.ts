// `nextauth-device sign <transaction-uri>`: a transaction shown as a QR (`nextauth://transaction?d=…`):
// fetch it on the account's channel, show exactly what is signed, then approve (PIN or biometrics) or deny,
// as `approve`/`deny` do for a transaction that came as a message.
import { type Command, Option } from 'commander';
import { driveFlow } from '../../../core/flows/drive.js';
import { cliAnswerer, needsTerminal } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { interactive } from '../terminal.js';
import { accountJson } from './accounts.js';

interface SignOptions {
  approve?: boolean;
  deny?: boolean;
  pin?: string;
  bio?: boolean;
}

async function sign(uri: string, options: SignOptions, global: GlobalOptions): Promise<void> {
  const decision = options.approve ? 'approve' : options.deny ? 'decline' : undefined;
  if (decision === undefined && !interactive()) throw needsTerminal('pass --approve or --deny');
  if (decision === 'approve' && !interactive() && options.pin === undefined && !options.bio)
    throw needsTerminal('pass --pin or --bio');
  const sdk = await openDevice(global);
  try {
    const request = await sdk.transactionFromUri(uri);
    const signed = await driveFlow(
      sdk.startSignTransaction(request, { secondFactor: options.bio ? 'bio' : 'auto' }),
      cliAnswerer(
        {
          ...(options.pin !== undefined ? { pin: options.pin } : {}),
          ...(decision !== undefined ? { decision } : {}),
        },
        { enrol: false },
      ),
    );
    output(
      global,
      {
        id: signed.tid,
        type: 'transaction',
        outcome: signed.outcome,
        text: signed.text,
        account: accountJson(signed.account),
        ...(signed.method ? { method: signed.method } : {}),
      },
      `Transaction ${signed.outcome}: ${signed.text}`,
    );
  } finally {
    await sdk.idle();
  }
}

export function registerSign(program: Command, global: () => GlobalOptions): void {
  program
    .command('sign')
    .description(
      'scan a transaction QR: show exactly what is signed, then approve (PIN or biometrics) or deny',
    )
    .argument('<transaction-uri>', 'nextauth://transaction?d=… (the transaction QR)')
    .addOption(new Option('--approve', 'approve and sign the transaction').conflicts('deny'))
    .addOption(new Option('--deny', 'decline the transaction').conflicts('approve'))
    .option('--pin <pin>', 'the device PIN (asked at a terminal if missing)')
    .option('--bio', 'confirm with biometrics (the PIN is used if they cannot be)')
    .action((uri: string, options: SignOptions) => sign(uri, options, global()));
}
