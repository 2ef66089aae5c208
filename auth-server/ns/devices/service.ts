// The "my devices" page's rules (issue #7): a logged-in user sees and changes only the accounts (phones) of
// their own userid on the server — list, rename, remove (a lost phone), enrol another — with the user as the
// audit actor. Removing ends the account's logged-in sessions at once (accounts/admin.ts).
import { z } from 'zod';
import type { AccountAdminService } from '../accounts/admin.js';
import { type Account, maxDescriptionLength } from '../accounts/model.js';
import type { AccountService, EnrolLink } from '../accounts/service.js';
import type { AuditContext } from '../audit/model.js';
import type { VirtualServer } from '../servers/model.js';

/** Who uses the page: the userid and account of the browser's logged-in NS session. */
export interface DeviceOwner {
  userid: string;
  /** The account this browser logged in with ("this device"). */
  accountId: string;
  /** The user, from this browser's address and user agent. */
  by: AuditContext;
}

/**
 * A name the user gives a phone: one line of plain text (no control or format characters, which could
 * reorder or hide what other pages show), trimmed, at most the column's 100 characters.
 */
export const deviceNameSchema = z
  .string()
  .max(400)
  .trim()
  .min(1, 'must not be empty')
  .max(maxDescriptionLength)
  .refine((s) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(s), 'plain one-line text only');

export interface DeviceService {
  /** The owner's accounts on the server, oldest first. */
  list(server: VirtualServer, owner: DeviceOwner): Promise<Account[]>;
  /** Undefined when the owner has no such account (another user's reads as none). Throws ZodError. */
  rename(server: VirtualServer, owner: DeviceOwner, id: string, name: string): Promise<Account | undefined>;
  /** The removed account, or undefined as for rename. */
  remove(server: VirtualServer, owner: DeviceOwner, id: string): Promise<Account | undefined>;
  /** A one-time enrol link for the owner's userid. */
  enrolLink(server: VirtualServer, owner: DeviceOwner): Promise<EnrolLink>;
}

export function createDeviceService(deps: {
  accountAdmin: AccountAdminService;
  accounts: Pick<AccountService, 'createEnrolLink'>;
}): DeviceService {
  const { accountAdmin, accounts } = deps;
  /** The account when it is the owner's; another user's account is as good as absent. */
  const own = async (server: VirtualServer, owner: DeviceOwner, id: string) => {
    const account = await accountAdmin.get(server, id);
    return account && account.userid === owner.userid ? account : undefined;
  };

  return {
    async list(server, owner) {
      // A user has a handful of phones; the admin list's page cap is far above any real count.
      const page = await accountAdmin.list(server, { userid: owner.userid, limit: 1000 });
      return page.accounts;
    },

    async rename(server, owner, id, name) {
      const description = deviceNameSchema.parse(name);
      if (!(await own(server, owner, id))) return undefined;
      return (await accountAdmin.update(server, id, { description }, owner.by))?.account;
    },

    async remove(server, owner, id) {
      if (!(await own(server, owner, id))) return undefined;
      return accountAdmin.delete(server, id, owner.by);
    },

    enrolLink: (server, owner) =>
      accounts.createEnrolLink({ server: server.name, userid: owner.userid }, owner.by),
  };
}
