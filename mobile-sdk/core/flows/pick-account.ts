// Which account's server policy counts a PIN check outside a login (CHANGE_PIN, ADD_BIOMETRICS).
import type { Account } from '../accounts/model.js';
import type { AccountStore } from '../accounts/store.js';
import { SdkError } from '../errors.js';

const recency = (a: Account) => a.lastLoginAt ?? a.createdAt;

/** The account `wanted`, else the most recently used one; `account_not_found` when there is none. */
export async function pickAccount(
  accounts: AccountStore,
  wanted: string | undefined,
  what: string,
): Promise<Account> {
  const all = await accounts.list();
  const account =
    wanted === undefined ? all.sort((a, b) => recency(b) - recency(a))[0] : all.find((a) => a.id === wanted);
  if (!account)
    throw new SdkError(
      'account_not_found',
      wanted === undefined
        ? `no account on this device: ${what} is checked under the policy of an enrolled server`
        : `no account ${wanted} on this device`,
    );
  return account;
}
