// The phone side of a QR login (DESIGN.md §4): scan a login code, then approve with an attestation or decline.
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import type { Logger } from '../../common/logging.js';
import { AccountError } from '../accounts/errors.js';
import type { Account } from '../accounts/model.js';
import type { AccountService } from '../accounts/service.js';
import type { AttestationChecker } from '../attestation/check.js';
import type { ServerIdentity } from '../servers/identity.js';
import type { Session } from '../sessions/model.js';
import type { SessionService } from '../sessions/service.js';

export interface LoginParty {
  server: ServerIdentity;
  /** The account whose key opened the channel. */
  accountId: string;
}

export interface ConfirmInput extends LoginParty {
  sessionId: string;
  attestation: string;
  /** TH8 of the login channel. */
  transcriptHash: Uint8Array;
}

export type DeclineReason = 'declined' | 'not_me';

export interface MobileLoginService {
  /** Uses the login code up (session `waiting → scanned`); returns the session and the account it is for. */
  scan(input: LoginParty & { code: string }): Promise<{ session: Session; account: Account }>;
  /** Verifies the attestation for this channel and account, then `→ loggedin`; exactly one approval wins. */
  confirm(input: ConfirmInput): Promise<Session>;
  /** `→ declined`; `not_me` is recorded as a security event. */
  decline(input: LoginParty & { sessionId: string; reason: DeclineReason }): Promise<Session>;
}

export function createMobileLoginService(deps: {
  sessions: SessionService;
  accounts: AccountService;
  checkAttestation: AttestationChecker;
  logger: Logger;
}): MobileLoginService {
  const { sessions, accounts, logger } = deps;

  /** Re-read on every request: an account blocked while its channel is open stops at the next step. */
  const activeAccount = async (accountId: string): Promise<Account> => {
    const account = await accounts.loadAccount(accountId);
    if (account.blockedAt !== null) throw new AccountError('account_blocked');
    return account;
  };

  return {
    async scan({ server, accountId, code }) {
      const account = await activeAccount(accountId);
      const session = await sessions.redeemLoginCode(code, { serverId: server.serverId });
      return { session, account };
    },

    async confirm({ server, accountId, sessionId, attestation, transcriptHash }) {
      const account = await activeAccount(accountId);
      await deps.checkAttestation(attestation, {
        audience: server.globalId,
        subject: account.appInstanceId,
        challenge: await attestationChallenge({
          serverId: server.globalId,
          accountKeyThumbprint: account.keyThumbprint,
          transcriptHash,
          purpose: 'login',
        }),
      });
      // The guarded transition decides races: of two valid approvals only one moves the session.
      const session = await sessions.markLoggedIn(sessionId, {
        userid: account.userid,
        accountId: account.id,
      });
      await accounts.recordLogin(account.id);
      logger.info(
        { event: 'login_confirmed', server: server.name, accountId: account.id, sessionId },
        'mobile login confirmed',
      );
      return session;
    },

    async decline({ server, accountId, sessionId, reason }) {
      const account = await accounts.loadAccount(accountId);
      const session = await sessions.markDeclined(sessionId);
      // "Not me": someone else started a login for this user. Until the audit log (issue #6) this is a
      // warn-level security event; blocking the account on it is a server policy for then.
      if (reason === 'not_me') {
        logger.warn(
          {
            event: 'login_not_me',
            security: true,
            server: server.name,
            accountId: account.id,
            userid: account.userid,
            sessionId,
            browserIp: session.ip,
          },
          'user reported a login they did not start',
        );
      }
      return session;
    },
  };
}
