// The device's accounts as one Storage document, validated on every read (storage is not trusted to be well-formed).
import { z } from 'zod';
import { SdkError } from '../errors.js';
import type { JsonValue, Storage } from '../ports.js';
import { type Account, accountSchema, sameNsUrl } from './model.js';

export const ACCOUNTS_KEY = 'accounts';

const documentSchema = z.object({ v: z.literal(1), accounts: z.array(accountSchema) }).strict();

export interface AccountStore {
  list(): Promise<Account[]>;
  get(id: string): Promise<Account | undefined>;
  /** Accounts at the NS virtual server `serverName` of the NS at `nsUrl`, most recently used first. */
  findByServer(nsUrl: string, serverName: string): Promise<Account[]>;
  /** Inserts or replaces by id. */
  save(account: Account): Promise<void>;
  delete(id: string): Promise<void>;
}

export function createAccountStore(storage: Storage): AccountStore {
  async function load(): Promise<Account[]> {
    const raw = await storage.get(ACCOUNTS_KEY);
    if (raw === undefined) return [];
    const parsed = documentSchema.safeParse(raw);
    if (!parsed.success)
      throw new SdkError(
        'storage',
        `stored accounts are unreadable: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    return parsed.data.accounts;
  }

  async function write(accounts: Account[]): Promise<void> {
    await storage.set(ACCOUNTS_KEY, { v: 1, accounts } as unknown as JsonValue);
  }

  const recency = (a: Account) => a.lastLoginAt ?? a.createdAt;

  return {
    list: load,
    async get(id) {
      return (await load()).find((a) => a.id === id);
    },
    async findByServer(nsUrl, serverName) {
      return (await load())
        .filter((a) => a.server.name === serverName && sameNsUrl(a.server.nsUrl, nsUrl))
        .sort((a, b) => recency(b) - recency(a));
    },
    async save(account) {
      const accounts = await load();
      const index = accounts.findIndex((a) => a.id === account.id);
      if (index === -1) accounts.push(account);
      else accounts[index] = account;
      await write(accounts);
    },
    async delete(id) {
      await write((await load()).filter((a) => a.id !== id));
    },
  };
}
