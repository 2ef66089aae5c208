// `nextauth-device delete <account-id>`: delete an account at its server and on this device.
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import type { NsDeletion } from '../../../core/flows/delete-account.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { accountJson } from './accounts.js';

const said: Record<NsDeletion, string> = {
  deleted: 'deleted at the server and on this device',
  not_found: 'removed from this device (the server no longer knew it)',
  skipped: 'removed from this device only (the server still has it)',
};

async function deleteAccount(id: string, options: { localOnly?: boolean }, global: GlobalOptions) {
  const sdk = await openDevice(global);
  const done = await sdk.startDeleteAccount(id, options.localOnly ? { localOnly: true } : {}).settled();
  if (done.state !== 'DONE' || !done.result) throw done.error ?? new SdkError('internal', 'deletion failed');
  const { account, ns } = done.result;
  output(
    global,
    { outcome: 'deleted', ns, account: accountJson(account) },
    `Account ${account.id} (${account.userid} at ${account.server.displayName || account.server.name}) ${said[ns]}.`,
  );
}

export function registerDelete(program: Command, global: () => GlobalOptions): void {
  program
    .command('delete')
    .description('delete an account at its server (proved with its key) and from this device')
    .argument('<account-id>', 'the id `accounts` shows')
    .option('--local-only', 'only remove it from this device; the server keeps the account')
    .action((id: string, options: { localOnly?: boolean }) => deleteAccount(id, options, global()));
}
