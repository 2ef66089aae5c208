// NS's side of ending IdP sessions (auth-server/common/idp-session-ends.ts): a logout of a logged-in NS
// session and a deleted or blocked account are told to the IdP on the KV bus, once the change has committed. Best
// effort like the business events: the NS change stands, and a lost message leaves the IdP session to its
// timeouts (logged, so an operator sees it).
import type { Knex } from 'knex';
import { type NsSessionEnd, publishNsSessionEnd } from '../../common/idp-session-ends.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { AuditService } from '../audit/service.js';
import type { Session } from '../sessions/model.js';

export interface IdpSessionEndsDeps {
  kv: Pick<Kv, 'publish'>;
  logger: Logger;
}

function isTransaction(db: Knex | undefined): db is Knex.Transaction {
  return db !== undefined && (db as Knex.Transaction).isTransaction === true;
}

const endCauses: Partial<Record<string, 'account_removed' | 'account_blocked'>> = {
  'account.deleted': 'account_removed',
  'account.blocked': 'account_blocked',
};

export function createIdpSessionEnds(deps: IdpSessionEndsDeps) {
  const publish = async (end: NsSessionEnd): Promise<void> => {
    try {
      await publishNsSessionEnd(deps.kv, end);
    } catch (err) {
      deps.logger.warn({ err, cause: end.cause, server: end.server }, 'IdP session end not published');
    }
  };

  return {
    /** For the session service's `onLoggedOut`: a logged-in NS session was logged out (committed). */
    async loggedOut(session: Pick<Session, 'id' | 'serverName'>): Promise<void> {
      await publish({ cause: 'ns_logout', server: session.serverName, nsSession: session.id });
    },

    /**
     * The audit service whose `account.deleted` and `account.blocked` events (every path that deletes or
     * blocks an account records one, in the same transaction: the admin API, "not me", a PIN lockout) also
     * reach the IdP, after the commit or never. A blocked phone can no longer log in, so the sessions it
     * made should not outlive it either; unblocking brings none back.
     */
    wrap(audit: AuditService): AuditService {
      return {
        ...audit,
        async record(input, trx) {
          const event = await audit.record(input, trx);
          const cause = endCauses[event.type];
          if (cause === undefined || event.server === null || event.subject.kind !== 'account') return event;
          const end: NsSessionEnd = {
            cause,
            server: event.server.name,
            account: event.subject.id,
          };
          if (isTransaction(trx))
            trx.executionPromise.then(
              () => publish(end),
              () => {},
            );
          else await publish(end);
          return event;
        },
      };
    },
  };
}
