// `nextauth-device login <qr-uri>`: scan a login QR and approve, decline or report it.
import { type Command, Option } from 'commander';
import { driveFlow } from '../../../core/flows/drive.js';
import type { ConfirmDecision } from '../../../core/flows/types.js';
import { cliAnswerer, needsTerminal } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { interactive } from '../terminal.js';
import { accountJson } from './accounts.js';
import { fallbackText } from './bio.js';

interface LoginOptions {
  pin?: string;
  approve?: boolean;
  deny?: boolean;
  notMe?: boolean;
  account?: string;
  bio?: boolean;
  pinOnly?: boolean;
}

function decision(options: LoginOptions): ConfirmDecision | undefined {
  if (options.approve) return 'approve';
  if (options.deny) return 'decline';
  if (options.notMe) return 'not_me';
  return undefined;
}

const said: Record<string, string> = {
  approved: 'Login approved',
  declined: 'Login declined',
  not_me: 'Login reported as not started by you',
};

async function login(uri: string, options: LoginOptions, global: GlobalOptions): Promise<void> {
  const d = decision(options);
  // Checked before scanning: the scan uses the login code up, so a script missing a flag must not spend it.
  if (!interactive()) {
    if (!d) throw needsTerminal('pass --approve, --deny or --not-me');
    if (d === 'approve' && options.pin === undefined && !options.bio)
      throw needsTerminal('pass --pin or --bio');
  }
  const sdk = await openDevice(global);
  const secondFactor = options.bio ? 'bio' : options.pinOnly ? 'pin' : 'auto';
  const result = await driveFlow(
    sdk.startLogin(uri, {
      secondFactor,
      ...(options.account !== undefined ? { accountId: options.account } : {}),
    }),
    cliAnswerer(
      { ...(options.pin !== undefined ? { pin: options.pin } : {}), ...(d ? { decision: d } : {}) },
      { enrol: false },
    ),
  );
  const a = result.account;
  const how =
    result.method === 'bio'
      ? ' with biometrics'
      : result.fallback
        ? ` with the PIN (${fallbackText[result.fallback]})`
        : '';
  output(
    global,
    {
      outcome: result.outcome,
      account: accountJson(a),
      ...(result.method ? { method: result.method } : {}),
      ...(result.fallback ? { fallback: result.fallback } : {}),
    },
    `${said[result.outcome]} for ${a.userid} at ${a.server.displayName || a.server.name}${how}`,
  );
}

export function registerLogin(program: Command, global: () => GlobalOptions): void {
  program
    .command('login')
    .description(
      'scan a login QR: confirm with the PIN or biometrics, decline, or report that it was not you',
    )
    .argument('<qr-uri>', 'nextauth://login?d=… (the login QR)')
    .option('--pin <pin>', 'the device PIN (asked at a terminal if missing)')
    .addOption(new Option('--approve', 'approve the login').conflicts(['deny', 'notMe']))
    .addOption(new Option('--deny', 'decline the login').conflicts(['approve', 'notMe']))
    .addOption(new Option('--not-me', 'decline: I did not start this login').conflicts(['approve', 'deny']))
    .option('--account <id>', 'which account to use when several are enrolled at that server')
    .addOption(
      new Option(
        '--bio',
        'confirm with biometrics (the PIN is asked, or --pin used, if they cannot be)',
      ).conflicts('pinOnly'),
    )
    .addOption(
      new Option('--pin-only', 'confirm with the PIN even where biometrics are added').conflicts('bio'),
    )
    .action((uri: string, options: LoginOptions) => login(uri, options, global()));
}
