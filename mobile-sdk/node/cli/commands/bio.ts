// `nextauth-device bio add|remove|status|simulate`: biometric confirmation on the virtual phone.
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import { driveFlow } from '../../../core/flows/drive.js';
import type { BiometricFallback } from '../../../core/flows/types.js';
import { FileBiometrics } from '../../file-biometrics.js';
import { cliAnswerer, needsTerminal } from '../answerer.js';
import { deviceHome, type GlobalOptions, openDevice, output } from '../device.js';
import { interactive } from '../terminal.js';

/** What the user reads when a login used the PIN although biometrics were meant to be used. */
export const fallbackText: Record<BiometricFallback, string> = {
  bio_invalidated:
    'the biometrics on this device changed, so its biometric key was deleted; run `bio add` to use them again',
  bio_failed: 'the biometric prompt did not match',
  bio_not_allowed: 'this server accepts only the PIN',
};

interface AddOptions {
  pin?: string;
  account?: string;
}

async function add(options: AddOptions, global: GlobalOptions): Promise<void> {
  if (!interactive() && options.pin === undefined) throw needsTerminal('pass --pin');
  const sdk = await openDevice(global);
  const result = await driveFlow(
    sdk.startAddBiometrics(options.account !== undefined ? { accountId: options.account } : {}),
    cliAnswerer({ ...(options.pin !== undefined ? { pin: options.pin } : {}) }, { enrol: false }),
  );
  const a = result.account;
  output(
    global,
    {
      outcome: 'bio_added',
      replaced: result.replaced,
      checkedAt: { server: a.server.name, nsUrl: a.server.nsUrl, account: a.id },
    },
    result.replaced
      ? 'Biometrics renewed: logins on this device are confirmed with them.'
      : 'Biometrics added: logins on this device are confirmed with them.',
  );
}

async function remove(global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const result = await driveFlow(sdk.startRemoveBiometrics(), cliAnswerer({}, { enrol: false }));
  output(
    global,
    { outcome: 'bio_removed', ...result },
    result.local || result.sfs
      ? 'Biometrics removed: logins on this device are confirmed with the PIN.'
      : 'This device had no biometrics to remove.',
  );
}

async function status(global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const s = await sdk.biometricsStatus();
  const human = !s.available
    ? 'No biometric is enrolled on this device.'
    : s.enabled
      ? 'Biometrics confirm logins on this device.'
      : s.invalidated
        ? 'The biometrics changed since they were added: the next login asks for the PIN and drops the old key.'
        : 'Biometrics are available but not added (`bio add`).';
  output(global, s, human);
}

interface SimulateOptions {
  enrol?: boolean;
  change?: boolean;
  clear?: boolean;
  fail?: boolean;
  cancel?: boolean;
}

async function simulate(options: SimulateOptions, global: GlobalOptions): Promise<void> {
  const chosen = (['enrol', 'change', 'clear', 'fail', 'cancel'] as const).filter((k) => options[k]);
  if (chosen.length > 1)
    throw new SdkError('invalid_input', 'choose one of --enrol, --change, --clear, --fail, --cancel');
  const sim = new FileBiometrics(deviceHome(global));
  const state = await {
    enrol: () => sim.enrol(),
    change: () => sim.change(),
    clear: () => sim.clear(),
    fail: () => sim.failNext('failed'),
    cancel: () => sim.failNext('cancelled'),
    none: () => sim.state(),
  }[chosen[0] ?? 'none']();
  const json = { enrolled: state.enrolmentId !== null, enrolmentId: state.enrolmentId, next: state.next };
  const human = state.enrolmentId
    ? `Simulated biometrics: enrolled (set ${state.enrolmentId})${state.next.length > 0 ? `, next prompts: ${state.next.join(', ')}` : ''}`
    : 'Simulated biometrics: none enrolled';
  output(global, json, human);
}

export function registerBio(program: Command, global: () => GlobalOptions): void {
  const bio = program.command('bio').description('confirm logins with biometrics instead of the PIN');
  bio
    .command('add')
    .description('add biometrics: the PIN once, then a biometric key is registered at the SFS')
    .option('--pin <pin>', 'the device PIN (asked at a terminal if missing)')
    .option('--account <id>', "whose server's PIN policy counts a wrong PIN (default: the last used)")
    .action((options: AddOptions) => add(options, global()));
  bio
    .command('remove')
    .description('remove biometrics from this device and its SFS (no PIN needed)')
    .action(() => remove(global()));
  bio
    .command('status')
    .description('whether biometrics are available, added, or invalidated by a change of the enrolled set')
    .action(() => status(global()));
  bio
    .command('simulate')
    .description("change this virtual phone's simulated biometrics (without an option: show them)")
    .option('--enrol', 'enrol a biometric (keeps the set when one is enrolled)')
    .option('--change', 'add or remove a biometric: a new enrolled set, which invalidates the biometric key')
    .option('--clear', 'remove every biometric')
    .option('--fail', 'the next biometric prompt does not match')
    .option('--cancel', 'the next biometric prompt is cancelled')
    .action((options: SimulateOptions) => simulate(options, global()));
}
