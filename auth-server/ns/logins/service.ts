// The phone side of a QR login (DESIGN.md §4): scan a login code, then approve with an attestation or decline.
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { AttestationError, type AttestationMethod } from '../../common/attestation/format.js';
import type { Logger } from '../../common/logging.js';
import { AccountError } from '../accounts/errors.js';
import type { Account } from '../accounts/model.js';
import type { AccountService } from '../accounts/service.js';
import type { AttestationChecker } from '../attestation/check.js';
import { type AuditOrigin, type NewAuditEvent, unknownOrigin } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { BusinessEvents } from '../events/service.js';
import type { ServerIdentity } from '../servers/identity.js';
import type { DeclineReason, Session } from '../sessions/model.js';
import type { SessionService } from '../sessions/service.js';

export interface LoginParty {
  server: ServerIdentity;
  /** The account whose key opened the channel. */
  accountId: string;
  /** The phone's address and user agent, for the audit log. */
  origin?: AuditOrigin;
}

export interface ConfirmInput extends LoginParty {
  sessionId: string;
  /**
   * The session as `scan` returned it, when the caller kept it: saves reading it back after the move.
   * Whether the session moves is decided by the guarded UPDATE alone; ignored unless its id is `sessionId`.
   */
  scanned?: Session;
  attestation: string;
  /** TH8 of the login channel. */
  transcriptHash: Uint8Array;
}

export type { DeclineReason };

export interface MobileLoginService {
  /** Uses the login code up (session `waiting → scanned`); returns the session and the account it is for. */
  scan(input: LoginParty & { code: string }): Promise<{ session: Session; account: Account }>;
  /**
   * A phone with no account on this server scanned one of its login codes: the browser's integrator hears
   * NOACCOUNTS (so it can offer enrolment). The code stays usable; returns whether it named a session.
   */
  noAccount(input: { server: ServerIdentity; code: string }): Promise<boolean>;
  /**
   * Verifies the attestation for this channel and account, then `→ loggedin`; exactly one approval wins.
   * Audit: `session.login`, or `session.login_rejected` for a blocked account or a refused attestation.
   */
  confirm(input: ConfirmInput): Promise<Session>;
  /**
   * `→ declined`, audited as `session.declined` with the reason (`not_me` also logs a warning) in the same
   * transaction; `scanned` as for confirm.
   */
  decline(
    input: LoginParty & { sessionId: string; scanned?: Session; reason: DeclineReason },
  ): Promise<Session>;
}

export function createMobileLoginService(deps: {
  sessions: SessionService;
  accounts: AccountService;
  checkAttestation: AttestationChecker;
  audit: AuditRecorder;
  logger: Logger;
  /** CONFIRMSCAN and NOACCOUNTS (the audited events reach it through the audit recorder). */
  events?: BusinessEvents;
}): MobileLoginService {
  const { sessions, accounts, audit, logger } = deps;

  /** A login event: the account acts, the user it belongs to is the subject. */
  const loginEvent = (
    type: 'session.login' | 'session.login_rejected' | 'session.declined',
    server: ServerIdentity,
    account: Account,
    origin: AuditOrigin,
    details: NewAuditEvent['details'],
  ): NewAuditEvent => ({
    type,
    server: { id: server.serverId, name: server.name },
    actor: { kind: 'account', id: account.id },
    subject: { kind: 'user', id: account.userid },
    ip: origin.ip,
    userAgent: origin.userAgent,
    details,
  });

  /** The snapshot from the scan if it is of this session, else the id (the session service reads it). */
  const target = (sessionId: string, scanned: Session | undefined): string | Session =>
    scanned !== undefined && scanned.id === sessionId ? scanned : sessionId;

  /** Re-read on every request: an account blocked while its channel is open stops at the next step. */
  const activeAccount = async (accountId: string): Promise<Account> => {
    const account = await accounts.loadAccount(accountId);
    if (account.blockedAt !== null) throw new AccountError('account_blocked');
    return account;
  };

  return {
    async scan({ server, accountId, code }) {
      const account = await activeAccount(accountId);
      const session = await sessions.redeemLoginCode(code, {
        serverId: server.serverId,
        accountId: account.id,
      });
      await deps.events?.emit({
        type: 'CONFIRMSCAN',
        server: { id: server.serverId, name: server.name },
        session: session.id,
        userid: account.userid,
        account: account.id,
      });
      return { session, account };
    },

    async noAccount({ server, code }) {
      const session = await sessions.peekLoginCode(code, server.serverId);
      if (!session) return false;
      await deps.events?.emit({
        type: 'NOACCOUNTS',
        server: { id: server.serverId, name: server.name },
        session: session.id,
        userid: null,
        account: null,
      });
      return true;
    },

    async confirm(input) {
      const { server, accountId, sessionId, attestation, transcriptHash, origin = unknownOrigin } = input;
      const account = await accounts.loadAccount(accountId);
      let method: AttestationMethod;
      try {
        if (account.blockedAt !== null) throw new AccountError('account_blocked');
        const claims = await deps.checkAttestation(attestation, {
          audience: server.globalId,
          subject: account.appInstanceId,
          challenge: await attestationChallenge({
            serverId: server.globalId,
            accountKeyThumbprint: account.keyThumbprint,
            transcriptHash,
            purpose: 'login',
          }),
        });
        // Kept with the login: the IdP turns it into `amr` (PIN or biometric key on the phone).
        method = claims.method;
      } catch (err) {
        // A refused approval changes no state; it is recorded (and a failing record fails the request).
        if (err instanceof AccountError || err instanceof AttestationError) {
          await audit.record(
            loginEvent('session.login_rejected', server, account, origin, {
              session: sessionId,
              reason: err.code,
            }),
          );
        }
        throw err;
      }
      // The guarded transition decides races: of two valid approvals only one moves the session. The
      // event and the account's last login are written in the transition's transaction: a failing audit
      // write rolls the login back and fails the request, and one commit serves all three.
      const session = await sessions.markLoggedIn(
        target(sessionId, input.scanned),
        { userid: account.userid, accountId: account.id, method },
        {
          inTransaction: async (_moved, trx) => {
            await audit.record(
              loginEvent('session.login', server, account, origin, { session: sessionId }),
              trx,
            );
            await accounts.recordLogin(account.id, trx);
          },
        },
      );
      logger.info(
        { event: 'login_confirmed', server: server.name, accountId: account.id, sessionId },
        'mobile login confirmed',
      );
      return session;
    },

    async decline({ server, accountId, sessionId, scanned, reason, origin = unknownOrigin }) {
      const account = await accounts.loadAccount(accountId);
      const session = await sessions.markDeclined(target(sessionId, scanned), {
        reason,
        inTransaction: async (moved, trx) => {
          const details = { session: sessionId, reason, browserIp: moved.ip };
          await audit.record(loginEvent('session.declined', server, account, origin, details), trx);
        },
      });
      // "Not me": someone else started a login for this user, so it is also a warn-level log line;
      // blocking the account on it is a server policy not built yet.
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
