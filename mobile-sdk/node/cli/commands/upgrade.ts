// `nextauth-device upgrade`: HEADLESS_UPGRADE — rotate the account keys with their servers, no questions asked.
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import { driveFlow } from '../../../core/flows/drive.js';
import { cliAnswerer } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

async function upgrade(options: { account?: string }, global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const result = await driveFlow(
    sdk.startHeadlessUpgrade(options.account !== undefined ? { accountId: options.account } : {}),
    cliAnswerer({}, { enrol: false }),
  );
  const lines = [
    ...result.rotated.map((id) => `${id}: new account key`),
    ...result.failed.map((f) => `${f.accountId}: not rotated (${f.code}${f.reason ? `: ${f.reason}` : ''})`),
  ];
  output(global, { outcome: 'upgraded', ...result }, lines.length > 0 ? lines.join('\n') : 'No accounts.');
  // Exit 1 when an account is left behind, so a script retries (a retry is safe).
  if (result.failed.length > 0)
    throw new SdkError('rejected', `${result.failed.length} account(s) not rotated; run again to retry`);
}

export function registerUpgrade(program: Command, global: () => GlobalOptions): void {
  program
    .command('upgrade')
    .description('rotate the account keys with their servers (no PIN; safe to run again after a failure)')
    .option('--account <id>', 'only this account')
    .action((options: { account?: string }) => upgrade(options, global()));
}
