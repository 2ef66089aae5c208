// Transaction signing (DESIGN.md §4, issue #11): an integrator creates a transaction, NS delivers it to the
// user's app like a push login, the app shows template + values, the user confirms with PIN (or biometrics,
// per server policy) and the app returns the account key's signature over the JCS of the signed data with an
// SFS attestation bound to its digest. NS verifies both, lets exactly one answer win and keeps a signed receipt.
import { calculateJwkThumbprint } from 'jose';
import type { Knex } from 'knex';
import { attestationChallenge } from '../../../protocol/attestation-binding.js';
import { b64u, utf8 } from '../../../protocol/encoding.js';
import type { TransactionPayload } from '../../../protocol/mobile/mc-payloads.js';
import {
  renderTemplate,
  sha256Bytes,
  TemplateError,
  type TransactionSignedData,
  templateHash,
  templatePlaceholders,
  transactionDigest,
  verifyTransactionSignature,
} from '../../../protocol/mobile/transaction.js';
import { type TransactionUriData, transactionUri } from '../../../protocol/mobile/uris.js';
import { AttestationError } from '../../common/attestation/format.js';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { hitFixedWindow } from '../../common/kv/fixed-window.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { SfsPeer } from '../../common/peers.js';
import { AccountError } from '../accounts/errors.js';
import type { Account } from '../accounts/model.js';
import type { AccountRepository } from '../accounts/repository.js';
import type { AttestationChecker } from '../attestation/check.js';
import type { AuditActor, AuditOrigin, NewAuditEvent } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { McDelivery } from '../push/deliver.js';
import { PushError } from '../push/errors.js';
import { copyableId } from '../push/service.js';
import type { ServerIdentity, ServerIdentityService } from '../servers/identity.js';
import type { VirtualServer } from '../servers/model.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import { TransactionError } from './errors.js';
import { statusOf, type Transaction, type TransactionStatus } from './model.js';
import { countersign, type Receipt, receiptSchema } from './receipt.js';
import { createTransactionRepository, type TransactionRepository } from './repository.js';
import { builtinTypes, type TransactionType, templateFor } from './types.js';

/** Accounts of one user that one transaction is delivered to (any one of them may answer). */
const maxAccountsPerTransaction = 5;

export interface CreateTransactionInput {
  server: VirtualServer;
  target: { userid: string } | { accountId: string };
  type: string;
  /** Wanted locale; the type's nearest template is used (and signed) otherwise. */
  locale?: string;
  values: Record<string, string>;
  /** `push` (default): an MC message to each phone; `qr`: none, the integrator shows `qr()` to scan. */
  delivery?: 'push' | 'qr';
  /** The RFC 9396 object it came from, kept with the transaction. */
  authorizationDetails: Record<string, unknown> | null;
  /** OIDC CIBA's binding message, shown and signed with the values (transactions/ciba.ts). */
  bindingMessage?: string;
  /** A shorter life than the server policy's (CIBA `requested_expiry`); never a longer one. */
  expiresInSeconds?: number;
  actor: AuditActor;
  origin: AuditOrigin;
}

export interface TransactionView {
  transaction: Transaction;
  status: TransactionStatus;
  /** The text the phone shows. */
  rendered: string;
}

export interface PhoneParty {
  server: ServerIdentity;
  /** The account whose key opened the channel. */
  accountId: string;
  origin: AuditOrigin;
}

export interface TransactionService {
  /** Stores the transaction and delivers it to the app(s); `accounts` are those that received it (none for QR). */
  create(input: CreateTransactionInput): Promise<TransactionView & { accounts: string[] }>;
  /**
   * The `nextauth://transaction?d=…` URI of an open transaction, for a QR the phone scans (whatever its
   * delivery: a QR also helps when a push is lost). `transaction_answered` / `transaction_expired` otherwise.
   */
  qr(tid: string): Promise<{ uri: string; data: TransactionUriData; expiresAt: number }>;
  /** TransactionError `unknown_transaction` when there is none; callers check the server scope. */
  get(tid: string): Promise<TransactionView>;
  /** The stored receipt of an approved transaction (`no_receipt` otherwise). */
  receipt(tid: string): Promise<Receipt>;
  /** Phone side: what to show and sign, for an account of the transaction's user; changes nothing. */
  forPhone(
    party: PhoneParty & { tid: string },
  ): Promise<{ data: TransactionSignedData; template: string; pinRequired: boolean; expiresAt: number }>;
  /** Phone side: verifies signature and attestation, then the one answer wins. */
  approve(
    party: PhoneParty & { tid: string; signature: string; attestation: string; transcriptHash: Uint8Array },
  ): Promise<void>;
  decline(party: PhoneParty & { tid: string }): Promise<void>;
  /** Built-in and registered types of the server. */
  listTypes(serverId: string): Promise<TransactionType[]>;
  putType(
    server: VirtualServer,
    name: string,
    templates: Record<string, string>,
    actor: AuditActor,
    origin: AuditOrigin,
  ): Promise<TransactionType>;
  /** False when the server has no such registered type. */
  deleteType(server: VirtualServer, name: string, actor: AuditActor, origin: AuditOrigin): Promise<boolean>;
}

export interface TransactionServiceDeps {
  db: Knex;
  /** The per-account minute counters (policy `transactionsPerMinute`). */
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
  accounts: AccountRepository;
  servers: VirtualServerRepository;
  identities: ServerIdentityService;
  checkAttestation: AttestationChecker;
  /** For the receipt: the SFS key that signed an attestation. */
  sfs: SfsPeer | undefined;
  deliver: McDelivery;
  audit: AuditRecorder;
  publicUrl: string;
}

export function createTransactionService(deps: TransactionServiceDeps): TransactionService {
  const { clock, random, audit } = deps;
  const repository: TransactionRepository = createTransactionRepository(deps.db);
  const nsUrl = deps.publicUrl.replace(/\/+$/, '');

  const findType = async (serverId: string, name: string): Promise<TransactionType | undefined> => {
    const builtin = builtinTypes.find((t) => t.name === name);
    if (builtin) return builtin;
    const templates = await repository.findType(serverId, name);
    return templates ? { name, templates, builtin: false } : undefined;
  };

  const view = (t: Transaction): TransactionView => ({
    transaction: t,
    status: statusOf(t, clock.now()),
    rendered: renderTemplate(t.template, t.data.values),
  });

  const load = async (tid: string): Promise<Transaction> => {
    const t = await repository.find(tid);
    if (!t) throw new TransactionError('unknown_transaction');
    return t;
  };

  const event = (
    type: NewAuditEvent['type'],
    server: { id: string; name: string },
    actor: AuditActor,
    userid: string,
    origin: AuditOrigin,
    details: NewAuditEvent['details'],
  ): NewAuditEvent => ({
    type,
    server,
    actor,
    subject: { kind: 'user', id: userid },
    ip: origin.ip,
    userAgent: origin.userAgent,
    details,
  });

  /** The transaction as the channel's account may answer it: its user's, open, and for it if targeted. */
  const forAccount = async (
    party: PhoneParty & { tid: string },
  ): Promise<{ t: Transaction; account: Account }> => {
    const account = await deps.accounts.load(party.accountId);
    if (account.blockedAt !== null) throw new AccountError('account_blocked');
    const t = await repository.find(party.tid);
    if (
      !t ||
      t.serverId !== party.server.serverId ||
      t.userid !== account.userid ||
      (t.accountId !== null && t.accountId !== account.id)
    )
      throw new TransactionError('unknown_transaction');
    const status = statusOf(t, clock.now());
    if (status === 'expired') throw new TransactionError('transaction_expired');
    if (status !== 'new') throw new TransactionError('transaction_answered');
    return { t, account };
  };

  /** The public members only (the receipt's JWK is strict: no kid, alg or use to disagree with). */
  const sfsKeyOf = async (jws: string): Promise<Receipt['attestation']['sfsKey']> => {
    const kid = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')).kid as unknown;
    for (const jwk of (await deps.sfs?.publicKeys()) ?? [])
      if ((await calculateJwkThumbprint(jwk, 'sha256')) === kid)
        return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) };
    // The checker accepted it, so one of these keys signed it; only a key rotated away in between gets here.
    throw new AttestationError('attestation_invalid', 'the SFS key of the attestation is gone');
  };

  return {
    async create(input) {
      const { server, target } = input;
      const identity = await deps.identities.serverIdentity(server.name);
      if (!identity) throw new TransactionError('unknown_transaction', 'the server has no identity key yet');
      const type = await findType(server.id, input.type);
      if (!type) throw new TransactionError('unknown_type');
      const template = templateFor(type, input.locale);
      const names = templatePlaceholders(template.text);
      // Only what the template shows is signed: what you see is what you sign.
      const values: Record<string, string> = {};
      for (const name of names) {
        const value = Object.hasOwn(input.values, name) ? input.values[name] : undefined;
        if (value === undefined) throw new TransactionError('invalid_values', `no value for {${name}}`);
        values[name] = value;
      }
      let accounts: Account[];
      let userid: string;
      if ('accountId' in target) {
        const account = await deps.accounts.find(server.id, target.accountId);
        if (!account) throw new PushError('no_account');
        if (account.blockedAt !== null) throw new AccountError('account_blocked');
        accounts = [account];
        userid = account.userid;
      } else {
        userid = target.userid;
        accounts = (await deps.accounts.listByUser(server.id, userid)).filter((a) => a.blockedAt === null);
        if (accounts.length === 0) throw new PushError('no_account');
      }
      const recipients = accounts.slice(0, maxAccountsPerTransaction);
      // Each phone it goes to is protected from floods, and a transaction reaches all of them or none:
      // counted before anything is stored or sent, any account over the limit refuses the whole creation.
      for (const account of recipients) {
        const retryAfter = await hitFixedWindow(
          deps.kv,
          clock,
          `ns:tx:rate:${account.id}`,
          server.policy.transactionsPerMinute,
          60_000,
        );
        if (retryAfter !== undefined)
          throw new TransactionError('transaction_rate_limited', undefined, retryAfter);
      }
      const now = clock.now();
      const id = copyableId(randomToken(random, 16));
      const data: TransactionSignedData = {
        purpose: 'nextauth-transaction-v1',
        tid: id,
        server: identity.globalId,
        type: type.name,
        template: { id: `${type.name}:${template.locale}`, sha256: await templateHash(template.text) },
        locale: template.locale,
        values,
        ...(input.bindingMessage !== undefined ? { bindingMessage: input.bindingMessage } : {}),
      };
      const lifetime = Math.min(
        server.policy.transactionTimeoutSeconds,
        input.expiresInSeconds ?? Number.POSITIVE_INFINITY,
      );
      const transaction: Transaction = {
        id,
        serverId: server.id,
        userid,
        accountId: 'accountId' in target ? (accounts[0]?.id ?? null) : null,
        type: type.name,
        locale: template.locale,
        data,
        template: template.text,
        authorizationDetails: input.authorizationDetails,
        createdAt: now,
        expiresAt: now + lifetime * 1000,
        usedAt: null,
        outcome: null,
        answeredBy: null,
        receipt: null,
      };
      await repository.save(transaction);
      // Inserted first, counted after (as push login does): racing creations each see the others' rows, so
      // the limit is never passed (at worst two racing creations both give way).
      for (const account of recipients)
        if (
          (await repository.countOpen(server.id, userid, account.id, clock.now())) >
          server.policy.maxOpenTransactions
        ) {
          await repository.delete(id);
          throw new TransactionError('too_many_open_transactions', undefined, 60);
        }
      const delivered: string[] = [];
      let firstError: unknown;
      const pushed = input.delivery !== 'qr';
      for (const [i, account] of pushed ? recipients.entries() : []) {
        // One MC message per phone, and message ids are unique at the MC: the first carries the transaction
        // id, the others their own id and the transaction's in `tid`.
        const messageId = i === 0 ? id : copyableId(randomToken(random, 16));
        const payload: TransactionPayload = {
          v: 1,
          type: 'transaction',
          id: messageId,
          ...(messageId !== id ? { tid: id } : {}),
          server: { id: identity.globalId, name: identity.name, displayName: identity.displayName, nsUrl },
          account: account.id,
          userid,
          expiresAt: transaction.expiresAt,
        };
        try {
          await deps.deliver(account.id, messageId, transaction.expiresAt, payload);
          delivered.push(account.id);
        } catch (err) {
          if (!(err instanceof PushError)) throw err;
          firstError ??= err;
        }
      }
      if (pushed && delivered.length === 0) {
        // Nobody can answer it: it is not kept as a transaction that merely looks pending.
        await repository.delete(id);
        throw firstError;
      }
      await audit.record(
        event(
          'transaction.created',
          { id: server.id, name: server.name },
          input.actor,
          userid,
          input.origin,
          {
            transaction: id,
            type: type.name,
            delivery: pushed ? 'push' : 'qr',
            accounts: delivered.join(','),
          },
        ),
      );
      return { ...view(transaction), accounts: delivered };
    },

    get: async (tid) => view(await load(tid)),

    async qr(tid) {
      const t = await load(tid);
      const status = statusOf(t, clock.now());
      if (status === 'expired') throw new TransactionError('transaction_expired');
      if (status !== 'new') throw new TransactionError('transaction_answered');
      // The global id `{NS URL}/ns/{name}` ends in the server name.
      const data: TransactionUriData = {
        v: 1,
        ns: nsUrl,
        s: t.data.server.slice(t.data.server.lastIndexOf('/') + 1),
        t: t.id,
      };
      return { uri: transactionUri(data), data, expiresAt: t.expiresAt };
    },

    async receipt(tid) {
      const t = await load(tid);
      if (t.receipt === null) throw new TransactionError('no_receipt');
      return receiptSchema.parse(JSON.parse(t.receipt));
    },

    async forPhone(party) {
      const { t } = await forAccount(party);
      const stored = await deps.servers.findByName(party.server.name);
      return {
        data: t.data,
        template: t.template,
        pinRequired: stored?.policy.transactionPinAlways ?? false,
        expiresAt: t.expiresAt,
      };
    },

    async approve(party) {
      const { server, origin } = party;
      const auditServer = { id: server.serverId, name: server.name };
      const actor: AuditActor = { kind: 'account', id: party.accountId };
      const account = await deps.accounts.load(party.accountId);
      let t: Transaction;
      let method: 'pin' | 'bio';
      try {
        ({ t } = await forAccount(party));
        // Checked before the attestation is consumed: a refused answer leaves it unused and the state as is.
        if (!(await verifyTransactionSignature(account.publicJwk, t.data, party.signature)))
          throw new TransactionError('signature_invalid');
        const stored = await deps.servers.findByName(server.name);
        const claims = await deps.checkAttestation(party.attestation, {
          audience: server.globalId,
          subject: account.appInstanceId,
          challenge: await attestationChallenge({
            serverId: server.globalId,
            accountKeyThumbprint: account.keyThumbprint,
            transcriptHash: party.transcriptHash,
            purpose: 'transaction',
            transactionDigest: await transactionDigest(t.data),
          }),
        });
        // The attestation is used up by now; the policy check after it still refuses without a state change.
        if (stored?.policy.transactionPinAlways && claims.method !== 'pin')
          throw new TransactionError('pin_required');
        method = claims.method;
      } catch (err) {
        if (
          err instanceof TransactionError ||
          err instanceof AttestationError ||
          err instanceof AccountError
        ) {
          await audit.record(
            event('transaction.rejected', auditServer, actor, account.userid, origin, {
              transaction: party.tid,
              reason: err.code,
            }),
          );
        }
        throw err;
      }
      const now = clock.now();
      const rendered = renderTemplate(t.template, t.data.values);
      const receipt = await countersign(
        {
          typ: 'nextauth-transaction-receipt',
          v: 1,
          transaction: {
            tid: t.id,
            server: server.globalId,
            serverName: server.name,
            type: t.type,
            userid: t.userid,
            account: account.id,
            createdAt: new Date(t.createdAt).toISOString(),
            expiresAt: new Date(t.expiresAt).toISOString(),
            approvedAt: new Date(now).toISOString(),
            authorizationDetails: t.authorizationDetails,
          },
          signedData: t.data,
          template: { id: t.data.template.id, text: t.template, sha256: t.data.template.sha256 },
          rendered: { text: rendered, sha256: b64u(await sha256Bytes(utf8(rendered))) },
          accountKey: account.publicJwk,
          signature: party.signature,
          attestation: {
            jws: party.attestation,
            sfsKey: await sfsKeyOf(party.attestation),
            transcriptHash: b64u(party.transcriptHash),
            method,
          },
          ns: { key: server.publicJwk, countersignedAt: new Date(now).toISOString() },
        },
        server.signer,
      );
      await deps.db.transaction(async (trx) => {
        if (
          !(await createTransactionRepository(trx).answer(
            t.id,
            now,
            'approved',
            account.id,
            JSON.stringify(receipt),
          ))
        )
          throw new TransactionError(
            statusOf(t, now) === 'expired' ? 'transaction_expired' : 'transaction_answered',
          );
        await audit.record(
          event('transaction.approved', auditServer, actor, account.userid, origin, {
            transaction: t.id,
            method,
          }),
          trx,
        );
      });
      deps.logger.info(
        { event: 'transaction_approved', server: server.name, transaction: t.id },
        'transaction approved',
      );
    },

    async decline(party) {
      const { t, account } = await forAccount(party);
      const now = clock.now();
      await deps.db.transaction(async (trx) => {
        if (!(await createTransactionRepository(trx).answer(t.id, now, 'declined', account.id, null)))
          throw new TransactionError(
            statusOf(t, now) === 'expired' ? 'transaction_expired' : 'transaction_answered',
          );
        await audit.record(
          event(
            'transaction.declined',
            { id: party.server.serverId, name: party.server.name },
            { kind: 'account', id: account.id },
            account.userid,
            party.origin,
            { transaction: t.id },
          ),
          trx,
        );
      });
    },

    async listTypes(serverId) {
      const stored = await repository.listTypes(serverId);
      return [...builtinTypes, ...stored.map((s) => ({ ...s, builtin: false }))];
    },

    async putType(server, name, templates, actor, origin) {
      if (builtinTypes.some((t) => t.name === name)) throw new TransactionError('builtin_type');
      for (const text of Object.values(templates)) {
        try {
          templatePlaceholders(text);
        } catch (err) {
          if (err instanceof TemplateError) throw new TransactionError('invalid_values', err.message);
          throw err;
        }
      }
      await deps.db.transaction(async (trx) => {
        await createTransactionRepository(trx).putType(server.id, name, templates, clock.now());
        await audit.record(
          {
            type: 'transaction_type.updated',
            server: { id: server.id, name: server.name },
            actor,
            subject: { kind: 'server', id: server.name },
            ip: origin.ip,
            userAgent: origin.userAgent,
            details: { type: name, locales: Object.keys(templates).join(',') },
          },
          trx,
        );
      });
      return { name, templates, builtin: false };
    },

    async deleteType(server, name, actor, origin) {
      if (builtinTypes.some((t) => t.name === name)) throw new TransactionError('builtin_type');
      return deps.db.transaction(async (trx) => {
        if (!(await createTransactionRepository(trx).deleteType(server.id, name))) return false;
        await audit.record(
          {
            type: 'transaction_type.deleted',
            server: { id: server.id, name: server.name },
            actor,
            subject: { kind: 'server', id: server.name },
            ip: origin.ip,
            userAgent: origin.userAgent,
            details: { type: name },
          },
          trx,
        );
        return true;
      });
    },
  };
}
