// `nextauth-device enrol <enrol-uri>`: create an account at the NS the enrol QR names.
import type { Command } from 'commander';
import { driveFlow } from '../../../core/flows/drive.js';
import { cliAnswerer } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { accountJson } from './accounts.js';

interface EnrolOptions {
  pin?: string;
  yes?: boolean;
}

async function enrol(uri: string, options: EnrolOptions, global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const result = await driveFlow(
    sdk.startEnrol(uri),
    cliAnswerer(
      {
        ...(options.pin !== undefined ? { pin: options.pin } : {}),
        ...(options.yes ? { decision: 'approve' } : {}),
      },
      { enrol: true },
    ),
  );
  if (result.outcome === 'declined') {
    output(global, { outcome: 'declined' }, 'Enrolment declined; nothing was stored.');
    return;
  }
  const a = result.account;
  output(
    global,
    { outcome: 'enrolled', account: accountJson(a) },
    `Enrolled ${a.userid} at ${a.server.displayName || a.server.name} (${a.server.id}); account ${a.id}`,
  );
}

export function registerEnrol(program: Command, global: () => GlobalOptions): void {
  program
    .command('enrol')
    .description('enrol this device for a user: sets the device PIN first if it has none')
    .argument('<enrol-uri>', 'nextauth://enrol?d=… (the enrol QR)')
    .option('--pin <pin>', 'the device PIN (set now if the device has none)')
    .option('--yes', 'do not ask for confirmation at a terminal')
    .action((uri: string, options: EnrolOptions) => enrol(uri, options, global()));
}
