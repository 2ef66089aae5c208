// NS's side of OIDC CIBA (issue #11): the IdP hands over a backchannel authentication request and NS makes a
// transaction of it with the transaction service (delivery, signing, receipt are those of REST transactions):
// an RFC 9396 object of a registered type, or a login confirmation (`ciba-login`) when there is none. The
// binding message is shown and signed with it. Refusals are results the IdP turns into CIBA errors.
import type { NsCibaRequest, NsCibaStarted, NsCibaStatus } from '../../common/peers.js';
import { AccountError } from '../accounts/errors.js';
import { PushError } from '../push/errors.js';
import { serverNameSchema } from '../servers/model.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { TransactionError } from './errors.js';
import { authorizationDetailValues } from './rar.js';
import { receiptSchema } from './receipt.js';
import type { TransactionService } from './service.js';
import { cibaLoginType } from './types.js';

export interface CibaTransactions {
  start(request: NsCibaRequest): Promise<NsCibaStarted>;
  status(server: string, tid: string): Promise<NsCibaStatus | undefined>;
}

const refused = (error: Extract<NsCibaStarted, { ok: false }>['error'], description: string) =>
  ({ ok: false, error, description }) as const;

export function createCibaTransactions(deps: {
  servers: VirtualServerRepository;
  transactions: TransactionService;
}): CibaTransactions {
  const findServer = async (name: string) =>
    serverNameSchema.safeParse(name).success ? deps.servers.findByName(name) : undefined;

  return {
    async start(request) {
      const server = await findServer(request.server);
      if (!server) return refused('unknown_server', 'no such virtual server');
      const details = request.authorizationDetails;
      try {
        const values = details ? authorizationDetailValues(details) : { client: request.client.name };
        const created = await deps.transactions.create({
          server,
          target: { userid: request.userid },
          type: details ? String(details.type) : cibaLoginType.name,
          ...(request.locale !== undefined ? { locale: request.locale } : {}),
          values,
          authorizationDetails: details,
          bindingMessage: request.bindingMessage,
          expiresInSeconds: request.expiresInSeconds,
          actor: { kind: 'system', id: 'idp-ciba' },
          origin: { ip: null, userAgent: null },
        });
        return { ok: true, tid: created.transaction.id, expiresAt: created.transaction.expiresAt };
      } catch (err) {
        if (err instanceof TransactionError && (err.code === 'unknown_type' || err.code === 'invalid_values'))
          return refused(err.code, err.message);
        if (err instanceof PushError && err.code === 'no_account')
          return refused('unknown_user', 'the user has no usable account');
        if (err instanceof AccountError) return refused('unknown_user', 'the user has no usable account');
        if (err instanceof PushError) return refused('push_unavailable', err.message);
        throw err;
      }
    },

    async status(serverName, tid) {
      const server = await findServer(serverName);
      if (!server) return undefined;
      let view: Awaited<ReturnType<TransactionService['get']>>;
      try {
        view = await deps.transactions.get(tid);
      } catch (err) {
        if (err instanceof TransactionError && err.code === 'unknown_transaction') return undefined;
        throw err;
      }
      const t = view.transaction;
      if (t.serverId !== server.id) return undefined;
      const method =
        t.receipt === null ? null : receiptSchema.parse(JSON.parse(t.receipt)).attestation.method;
      return {
        status: view.status,
        userid: t.userid,
        account: t.answeredBy,
        method,
        answeredAt: t.usedAt,
        authorizationDetails: t.authorizationDetails,
      };
    },
  };
}
