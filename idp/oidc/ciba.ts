// OIDC CIBA, poll and ping (issue #11), on oidc-provider's `features.ciba`: a client registered for it asks at
// `/oidc/{server}/backchannel` to authenticate a user named by `login_hint` (a userid) or `id_token_hint`;
// NS makes a transaction of it (auth-server/ns/transactions/ciba.ts) that the user signs on the phone, with
// the `binding_message` and any `authorization_details` (RFC 9396) shown and signed. When the phone answers,
// NS says so on the KV bus and the IdP finishes the request with `provider.backchannelResult`: a grant
// carrying the approved authorization details (so the access token and introspection carry them), or
// `access_denied`. The request lives exactly as long as the transaction, so an unanswered one ends in
// `expired_token`. Everything the request is refused for is checked before it is stored.
import { createHash } from 'node:crypto';
import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import type { Clock } from '../../auth-server/common/clock.js';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { bindingMessageSchema, transactionTypeSchema } from '../../protocol/mobile/transaction.js';
import { phoneAmr, phonePinAcr } from '../interaction/ns-login.js';
import type { OidcProviderModule } from './internals.js';

export const cibaGrantType = 'urn:openid:params:grant-type:ciba';
export const cibaDeliveryModes = ['poll', 'ping'] as const;
export type CibaDeliveryMode = (typeof cibaDeliveryModes)[number];

/**
 * Policy (docs/transactions.md): CIBA requests one client may make for one user per minute, in a KV fixed
 * window. Each request reaches the user's phone, so this bounds how often one client can ring it; 3 matches
 * push login's per-(key, user) default (`clientPushesPerMinute`).
 */
export const cibaRequestsPerMinute = 3;
/** A request without `requested_expiry` lives this long (capped further by the server's transaction timeout). */
export const cibaDefaultExpirySeconds = 300;
/** The longest `requested_expiry` honoured (the NS policy's transaction timeout caps it as well). */
export const cibaMaxExpirySeconds = 600;

export interface CibaDeps {
  oidc: OidcProviderModule;
  server: string;
  ns: NsPeer;
  kv: Kv;
  clock: Clock;
  logger: Logger;
}

const sha = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);
const linkKey = (server: string, tid: string) => `idp:ciba:tx:${server}:${tid}`;
const doneKey = (server: string, tid: string) => `idp:ciba:done:${server}:${tid}`;
const rateKey = (server: string, clientId: string, userid: string) =>
  `idp:ciba:rate:${server}:${sha(clientId)}:${sha(userid)}`;

/** What one request's NS transaction is, kept on its koa context between oidc-provider's hooks. */
const started = new WeakMap<object, { tid: string; expiresAt: number }>();
/** A request's `authorization_details`, taken out of its parameters by `holdDetails`. */
const held = new WeakMap<object, Record<string, unknown> & { type: string }>();

/** The single RFC 9396 object of a request, parsed by the `authorization_details` parameter's check. */
function parseDetails(
  errors: OidcProviderModule['errors'],
  raw: string,
): Record<string, unknown> & { type: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new errors.InvalidAuthorizationDetails('authorization_details is not JSON');
  }
  // One object: a transaction signs one typed operation (several would be several transactions).
  if (!Array.isArray(parsed) || parsed.length !== 1)
    throw new errors.InvalidAuthorizationDetails('authorization_details must be an array of one object');
  const [detail] = parsed as unknown[];
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
    throw new errors.InvalidAuthorizationDetails('authorization_details must be an array of one object');
  const type = (detail as Record<string, unknown>).type;
  if (typeof type !== 'string' || !transactionTypeSchema.safeParse(type).success)
    throw new errors.InvalidAuthorizationDetails('authorization_details type is not a transaction type');
  return detail as Record<string, unknown> & { type: string };
}

/** `extraParams` entry: `authorization_details` is taken at the backchannel endpoint only. */
export function authorizationDetailsParam(errors: OidcProviderModule['errors']) {
  return async (ctx: KoaContextWithOIDC, value: string | undefined): Promise<void> => {
    if (value === undefined) return;
    if (ctx.oidc.route !== 'backchannel_authentication')
      throw new errors.InvalidRequest('authorization_details is supported with CIBA only');
    parseDetails(errors, value);
  };
}

/**
 * Called from `resourceIndicators.defaultResource`, the hook oidc-provider runs right before it refuses
 * `authorization_details` without a resource indicator (its RAR model: details describe access to a
 * resource server). Here they describe what the user signs, and the token is the client's own: so at the
 * backchannel endpoint the details are parsed and taken out of the parameters, and the CIBA hooks read them
 * from here. Anywhere else they stay, and are refused (`authorizationDetailsParam`).
 */
export function holdDetails(errors: OidcProviderModule['errors'], ctx: KoaContextWithOIDC): void {
  const params = ctx.oidc.params as Record<string, unknown> | undefined;
  const raw = params?.authorization_details;
  if (ctx.oidc.route !== 'backchannel_authentication' || typeof raw !== 'string' || !params) return;
  held.set(ctx, parseDetails(errors, raw));
  params.authorization_details = undefined;
}

/**
 * oidc-provider answers a client without the CIBA grant type with `invalid_request`; CIBA Core §13 names
 * `unauthorized_client` for "not authorized to use this authentication flow", which is what clients check.
 */
export async function unauthorizedClientForCiba(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
  await next();
  const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
  if (
    ctx.oidc?.route === 'backchannel_authentication' &&
    ctx.status === 400 &&
    body?.error === 'invalid_request' &&
    body.error_description === `${cibaGrantType} is not allowed for this client`
  )
    body.error = 'unauthorized_client';
}

/** The poll interval a client is told (`interval`) and held to: a poll sooner than that is `slow_down`. */
export const cibaPollIntervalSeconds = 5;
/** Slack below the interval, so a client that waits exactly the interval is never told to slow down. */
const pollSlackMs = 1000;

/**
 * oidc-provider 9 tells the client no interval and never answers `slow_down` (CIBA Core §11 wants both):
 * the backchannel answer gets `interval`, and a pending poll that comes within the interval of the
 * previous one of the same request is answered `slow_down` instead (a KV window per request). Done on the
 * way out because a pending poll changes nothing; a poll that finds the tokens ready is never held back.
 */
export function pollInterval(kv: Kv, server: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (route === 'backchannel_authentication' && ctx.status === 200 && body?.auth_req_id) {
      body.interval = cibaPollIntervalSeconds;
      return;
    }
    const params = ctx.oidc?.params as Record<string, unknown> | undefined;
    if (route !== 'token' || params?.grant_type !== cibaGrantType || body?.error !== 'authorization_pending')
      return;
    const key = `idp:ciba:poll:${server}:${sha(String(params.auth_req_id))}`;
    const ttlMs = cibaPollIntervalSeconds * 1000 - pollSlackMs;
    if (!(await kv.set(key, '1', { ifAbsent: true, ttlMs }))) {
      body.error = 'slow_down';
      body.error_description = `poll at most every ${cibaPollIntervalSeconds} seconds`;
    }
  };
}

export interface Ciba {
  /** `features.ciba` of oidc-provider. */
  feature: Record<string, unknown>;
  /**
   * `features.richAuthorizationRequests` with its feature off (its type list and client allow-list are
   * static; ours are NS's per-server transaction types): only the hooks that put a CIBA grant's details into
   * the access token and introspection, which oidc-provider calls whenever a token carries details.
   */
  richAuthorizationRequests: Record<string, unknown>;
  /** `ttl.BackchannelAuthenticationRequest`: the remaining life of the request's NS transaction. */
  ttl(ctx: KoaContextWithOIDC | undefined): number;
  /** Provider middleware: `interval` and `slow_down` (see `pollInterval`). */
  pollInterval: ReturnType<typeof pollInterval>;
  /** Finishes the request made from transaction `tid` if the phone answered it; once, whoever calls. */
  finish(provider: Provider, tid: string): Promise<void>;
}

export function createCiba(deps: CibaDeps): Ciba {
  const { errors } = deps.oidc;
  const { server, ns, kv, clock } = deps;
  const log = deps.logger.child({ server, component: 'oidc-ciba' });

  const finish = async (provider: Provider, tid: string): Promise<void> => {
    const authReqId = await kv.get(linkKey(server, tid));
    if (!authReqId) return;
    const status = await ns.cibaTransactionStatus(server, tid);
    // Still open, or run out: the request expires with it (its TTL is the transaction's).
    if (!status || (status.status !== 'approved' && status.status !== 'declined')) return;
    const request = await provider.BackchannelAuthenticationRequest.find(authReqId);
    if (!request || request.grantId || request.error) return;
    // The bus, the trigger and other instances may all get here: one of them finishes it.
    const ttlMs = Math.max(1000, (request.exp ?? 0) * 1000 - clock.now() + 60_000);
    if (!(await kv.set(doneKey(server, tid), '1', { ifAbsent: true, ttlMs }))) return;
    if (status.status === 'declined' || status.userid !== request.accountId) {
      await provider.backchannelResult(request, new errors.AccessDenied('the user declined on the phone'));
      log.info({ event: 'oidc_ciba_declined', clientId: request.clientId }, 'CIBA request declined');
      return;
    }
    const grant = new provider.Grant({ clientId: String(request.clientId), accountId: status.userid });
    if (request.scope) grant.addOIDCScope(request.scope);
    const details = status.authorizationDetails ? [status.authorizationDetails] : undefined;
    for (const detail of details ?? []) grant.addRar(detail as Parameters<typeof grant.addRar>[0]);
    await grant.save();
    await provider.backchannelResult(request, grant, {
      amr: phoneAmr(status.method ?? undefined),
      acr: phonePinAcr,
      authTime: Math.floor((status.answeredAt ?? clock.now()) / 1000),
      ...(details ? { rar: details as NonNullable<typeof request.rar> } : {}),
    });
    log.info(
      { event: 'oidc_ciba_approved', clientId: request.clientId, transaction: tid },
      'CIBA request approved',
    );
  };

  const feature = {
    enabled: true,
    deliveryModes: [...cibaDeliveryModes],
    // A userid; whether it has a usable account is findAccount's question (else `unknown_user_id`).
    processLoginHint: async (_ctx: KoaContextWithOIDC, loginHint: string) =>
      loginHint.length <= 255 ? loginHint : undefined,
    processLoginHintToken: async () => {
      throw new errors.InvalidRequest('login_hint_token is not supported; use login_hint or id_token_hint');
    },
    validateRequestContext: async () => {},
    // Required here: it is what the user compares between the two devices.
    validateBindingMessage: async (_ctx: KoaContextWithOIDC, bindingMessage: string | undefined) => {
      if (bindingMessage === undefined || bindingMessage === '')
        throw new errors.InvalidBindingMessage('binding_message is required');
      const checked = bindingMessageSchema.safeParse(bindingMessage);
      if (!checked.success)
        throw new errors.InvalidBindingMessage(
          'binding_message must be 1-64 characters of plain text without control characters',
        );
    },
    // The last check before oidc-provider stores the request (`backchannel_user_code_parameter` is false, so
    // there is no user code): the rate limit, then the transaction. A refusal here leaves nothing stored.
    verifyUserCode: async (ctx: KoaContextWithOIDC, account: { accountId: string }) => {
      const client = ctx.oidc.client;
      if (!client) throw new errors.InvalidClient();
      const count = await kv.incr(rateKey(server, client.clientId, account.accountId), { ttlMs: 60_000 });
      if (count > cibaRequestsPerMinute) {
        const err = new errors.SlowDown(
          `at most ${cibaRequestsPerMinute} backchannel authentication requests per minute for one user`,
        );
        err.status = 429;
        err.statusCode = 429;
        ctx.set('Retry-After', '60');
        throw err;
      }
      const params = ctx.oidc.params ?? {};
      const rawDetails = params.authorization_details;
      const details =
        held.get(ctx) ?? (typeof rawDetails === 'string' ? parseDetails(errors, rawDetails) : null);
      const requested = Number(params.requested_expiry ?? cibaDefaultExpirySeconds);
      const result = await ns.startCibaTransaction({
        server,
        userid: account.accountId,
        client: { id: client.clientId, name: client.clientName ?? client.clientId },
        bindingMessage: String(params.binding_message),
        authorizationDetails: details,
        ...(typeof params.ui_locales === 'string' && params.ui_locales !== ''
          ? { locale: params.ui_locales.split(' ')[0] as string }
          : {}),
        expiresInSeconds: Math.min(cibaMaxExpirySeconds, requested),
      });
      if (!result.ok) {
        log.debug({ event: 'oidc_ciba_refused', error: result.error }, 'CIBA request refused by NS');
        switch (result.error) {
          case 'unknown_user':
            throw new errors.UnknownUserId('could not identify end-user');
          case 'unknown_type':
          case 'invalid_values':
            throw new errors.InvalidAuthorizationDetails(result.description);
          default:
            throw new errors.TransactionFailed('the user cannot be reached on a phone');
        }
      }
      started.set(ctx, { tid: result.tid, expiresAt: result.expiresAt });
    },
    triggerAuthenticationDevice: async (
      ctx: KoaContextWithOIDC,
      request: InstanceType<Provider['BackchannelAuthenticationRequest']>,
    ) => {
      const tx = started.get(ctx);
      if (!tx) throw new Error('CIBA request without its transaction');
      await kv.set(linkKey(server, tx.tid), request.jti, {
        ttlMs: Math.max(1000, tx.expiresAt - clock.now() + 60_000),
      });
      // The phone may have answered before the link existed (the bus message then found nothing). The
      // request is stored by now: a failure here (a ping that did not go through) is logged, not answered.
      await finish(ctx.oidc.provider, tx.tid).catch((err: unknown) =>
        log.warn({ err, transaction: tx.tid }, 'CIBA request not finished right after its creation'),
      );
    },
  };

  return {
    feature,
    richAuthorizationRequests: {
      enabled: false,
      authorizationDetailsForGrantSource: async () => undefined,
      // What the phone approved (stored on the request by `finish`), no more.
      authorizationDetailsForAccessToken: async (
        _ctx: KoaContextWithOIDC,
        _token: unknown,
        source: { rar?: unknown } | undefined,
      ) => source?.rar,
      authorizationDetailsForIntrospection: async (_ctx: KoaContextWithOIDC, token: { rar?: unknown }) =>
        token.rar,
    },
    ttl(ctx) {
      const tx = ctx ? started.get(ctx) : undefined;
      if (!tx) return cibaDefaultExpirySeconds;
      return Math.max(1, Math.floor((tx.expiresAt - clock.now()) / 1000));
    },
    pollInterval: pollInterval(kv, server),
    finish,
  };
}
