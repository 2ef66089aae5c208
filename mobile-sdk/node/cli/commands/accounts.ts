// `nextauth-device accounts`: the accounts on this device, on every server.
import type { Command } from 'commander';
import type { Account } from '../../../core/accounts/model.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

/** What scripts get for an account: no key material, only the alias naming it in the key store. */
export function accountJson(a: Account) {
  return {
    id: a.id,
    userid: a.userid,
    info: a.info ?? null,
    server: a.server,
    nsAccountId: a.nsAccountId,
    accountKeyThumbprint: a.accountKeyThumbprint,
    createdAt: new Date(a.createdAt).toISOString(),
    lastLoginAt: a.lastLoginAt === null ? null : new Date(a.lastLoginAt).toISOString(),
  };
}

async function accounts(global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const list = await sdk.accounts();
  const lines = list.map(
    (a) =>
      `${a.id}  ${a.userid}${a.info ? ` ("${a.info}")` : ''}  ${a.server.name}  ${a.server.nsUrl}  ` +
      `last login ${a.lastLoginAt === null ? 'never' : new Date(a.lastLoginAt).toISOString()}`,
  );
  output(global, list.map(accountJson), lines.length > 0 ? lines.join('\n') : 'No accounts on this device.');
}

export function registerAccounts(program: Command, global: () => GlobalOptions): void {
  program
    .command('accounts')
    .description('list the accounts on this device')
    .action(() => accounts(global()));
}
