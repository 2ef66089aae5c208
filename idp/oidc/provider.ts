// One oidc-provider instance for one virtual server: issuer `{PUBLIC_URL}/oidc/{server}`, its own cookie
// names and cookie keys, its signing keys, storage scoped to the server, and the features of this slice.
import { createHmac, hkdfSync } from 'node:crypto';
import type { Knex } from 'knex';
import type {
  Configuration,
  KoaContextWithOIDC,
  default as Provider,
  RichAuthorizationRequestsDisabledConfiguration,
} from 'oidc-provider';
import type { Clock } from '../../auth-server/common/clock.js';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { phonePinAcr } from '../interaction/ns-login.js';
import { renderLoggedOutPage, renderLogoutPage } from '../interaction/oidc-pages.js';
import type { IdpSessionService } from '../session/service.js';
import { type AdapterOptions, knexAdapterFactory } from './adapter.js';
import { authorizationDetailsParam, type Ciba, holdDetails, unauthorizedClientForCiba } from './ciba.js';
import { claimsFromProfile, oidcClaims } from './claims.js';
import { type ClientRepository, clientAdapter, isThirdParty, thirdPartyProperty } from './clients.js';
import { type OidcProviderModule, offlineAccessHook } from './internals.js';
import { kvAdapterFactory } from './kv-adapter.js';
import type { FetchFunction } from './outbound-fetch.js';
import { resourceIndicators } from './resource-servers.js';
import type { SigningKeySet } from './signing-keys.js';

/** Lifetimes in seconds (oidc-provider's `ttl`), all explicit. */
export const oidcTtl = {
  /** RFC 6749 §4.1.2 recommends at most 10 minutes; a browser redirect takes seconds. */
  AuthorizationCode: 60,
  AccessToken: 3600,
  IdToken: 3600,
  /** Rotated on every use; reuse of a rotated one revokes the grant. */
  RefreshToken: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  /** Room to scan, fail, and start again on the login page. */
  Interaction: 30 * 60,
  /** Tokens of the client credentials grant (a service, no user). */
  ClientCredentials: 3600,
  /** The IdP session (SSO), as long as a logged-in NS session. */
  Session: 8 * 3600,
} as const;

/** `{PUBLIC_URL}/oidc/{server}` (DESIGN.md §5). */
export function issuerFor(publicUrl: string, server: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/oidc/${server}`;
}

/** Cookie names per server (DESIGN.md §6): two providers in one browser never share a session cookie. */
export function oidcCookieNames(server: string) {
  return {
    session: `nextauth_oidc_${server}`,
    interaction: `nextauth_oidc_${server}_interaction`,
    resume: `nextauth_oidc_${server}_resume`,
  };
}

/**
 * Keys that sign this server's cookies: HKDF-SHA-256 of NEXTAUTH_SECRET_KEY with the server name as info,
 * so the raw secret never signs anything and one server's cookie is not valid for another.
 */
export function oidcCookieKeys(secretKey: string, server: string): string[] {
  return [
    Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-oidc-cookies-v1', server, 32)).toString('base64url'),
  ];
}

/**
 * Pairwise `sub` (OIDC Core §8.1): HMAC-SHA-256 over the sector identifier (the redirect URIs' host) and the
 * userid, keyed by HKDF-SHA-256 of NEXTAUTH_SECRET_KEY (info = server name), never the raw secret. Stable
 * across restarts and instances; one userid reads differently in every sector and on every server.
 */
export function pairwiseSubject(secretKey: string, server: string) {
  const key = Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-oidc-pairwise-v1', server, 32));
  return (sector: string, userid: string): string =>
    createHmac('sha256', key).update(`${sector}\n${userid}`).digest('base64url');
}

/**
 * Where codes, tokens, sessions, grants and interactions live (NEXTAUTH_OIDC_STORAGE): the IdP database
 * or the shared KV. Clients and signing keys are in the IdP database either way.
 */
export type OidcStorage = { kind: 'sql' } | { kind: 'kv'; kv: Kv };

/**
 * The secret of this server's DPoP nonces (RFC 9449 §8), derived like the cookie keys: HKDF-SHA-256 of
 * NEXTAUTH_SECRET_KEY with its own salt and the server name as info. Nonces are time-based HMACs, so every
 * instance with the same secret issues and accepts the same ones without sharing state, and a nonce of
 * one server is worthless at another.
 */
export function oidcDpopNonceSecret(secretKey: string, server: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-oidc-dpop-nonce-v1', server, 32));
}

export interface ProviderDeps {
  oidc: OidcProviderModule;
  server: string;
  publicUrl: string;
  knex: Knex;
  storage: OidcStorage;
  clock: Clock;
  clients: ClientRepository;
  keys: SigningKeySet;
  secretKey: string;
  ns: NsPeer;
  /** Outbound calls (back-channel logout) through the allow-listed client. */
  fetch: FetchFunction;
  trustProxy: boolean;
  /** Resource servers whose access tokens are RFC 9068 JWTs (NEXTAUTH_OIDC_RESOURCES). */
  resources: readonly string[];
  logger: Logger;
  /** Path of the interaction page for an interaction uid (under `/oidc/{server}`). */
  interactionPath(uid: string): string;
  /** The IdP sessions shared with the other front doors; without them OIDC keeps only its own session. */
  idpSessions?: IdpSessionService;
  /** Renders an error page for the browser (never a redirect). */
  renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }): void;
  /** OIDC CIBA (ciba.ts); without it the backchannel endpoint is off. */
  ciba?: Ciba;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { oidc, server, ns } = deps;
  const { errors } = oidc;
  const storage: AdapterOptions = {
    server,
    clock: deps.clock,
    alreadyConsumed: (model) =>
      new errors.InvalidGrant(
        model === 'RefreshToken' ? 'refresh token already used' : 'authorization code already consumed',
      ),
    overrides: { Client: clientAdapter(deps.clients, server) },
  };
  const pairwise = pairwiseSubject(deps.secretKey, server);
  const configuration: Configuration = {
    adapter:
      deps.storage.kind === 'kv'
        ? kvAdapterFactory({ ...storage, kv: deps.storage.kv })
        : knexAdapterFactory({ ...storage, knex: deps.knex }),
    jwks: { keys: deps.keys.keys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      names: oidcCookieNames(server),
      keys: oidcCookieKeys(deps.secretKey, server),
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      registration: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7662 for the client's own tokens only: a resource server that introspects others' tokens is a
      // later feature (with resource indicators). A foreign or public client's answer is `active: false`.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' && token.clientId === client.clientId,
      },
      // RFC 7009: oidc-provider's rule, written out: a client revokes only its own tokens (a public client
      // too, e.g. an SPA at logout); a confidential client presenting another's token is told so.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => renderLogoutPage(ctx, form, server),
        postLogoutSuccessSource: async (ctx) => renderLoggedOutPage(ctx),
      },
      // Signed request objects (OIDC Core §6.1, RFC 9101): HS256 with the client's secret; the asymmetric
      // algorithms verify against a client's registered JWKS, which no client has yet. `none` is not
      // among the algorithms, so an unsigned request object is refused.
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      // OIDC Back-Channel Logout 1.0: a logout token to each client of the ended session that registered
      // a URI, through `fetch` (the allow-listed outbound client). Later slices switch the others on.
      backchannelLogout: { enabled: true },
      // PAR (RFC 9126): the request goes to the provider with client authentication first, the browser
      // carries only a `request_uri` (60 s, one authorization). Not required for everyone: a client
      // registered with `requirePar` (`require_pushed_authorization_requests`) must use it.
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: false,
        allowUnregisteredRedirectUris: false,
      },
      // DPoP (RFC 9449): a client that sends proofs gets tokens bound to its key (`token_type: DPoP`,
      // `cnf.jkt`), usable only with a fresh proof of that key; a public client's refresh tokens are bound
      // too. The token endpoint, where long-lived refresh tokens are minted, requires a server nonce, so a
      // proof made in advance (by script that held the key for a moment) is useless; resources (userinfo)
      // accept proofs from the last 5 minutes, bound to the access token (`ath`) and used once (`jti`).
      dPoP: {
        enabled: true,
        nonceSecret: oidcDpopNonceSecret(deps.secretKey, server),
        requireNonce: (ctx) => ctx.oidc.route === 'token',
        allowReplay: false,
      },
      resourceIndicators: withHeldDetails(
        resourceIndicators(deps.resources, errors, oidcTtl.AccessToken),
        deps.ciba ? (ctx) => holdDetails(errors, ctx) : undefined,
      ),
      // OIDC CIBA (poll, ping) for clients registered for it; RFC 9396 details only through it (ciba.ts).
      ...(deps.ciba
        ? {
            ciba: deps.ciba.feature as NonNullable<Configuration['features']>['ciba'],
            richAuthorizationRequests: deps.ciba
              .richAuthorizationRequests as RichAuthorizationRequestsDisabledConfiguration,
          }
        : {}),
    },
    fetch: deps.fetch as NonNullable<Configuration['fetch']>,
    enabledJWA: { requestObjectSigningAlgValues: ['HS256', 'RS256', 'PS256', 'ES256'] },
    responseTypes: ['code'],
    // PKCE: S256 only (the default method list), required for public clients (token_endpoint_auth_method
    // none); confidential clients may use it (OIDC Basic conformance sends none).
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    // Claims of the granted scopes go into the ID token as well as userinfo: RPs of the code flow read the
    // ID token and should not need a second request for a name (OIDC Core §5.4 allows both).
    conformIdTokenClaims: false,
    claims: Object.fromEntries(Object.entries(oidcClaims).map(([k, v]) => [k, [...v]])),
    extraParams: {
      [offlineAccessHook.param]: offlineAccessHook.restore,
      ...(deps.ciba ? { authorization_details: authorizationDetailsParam(errors) } : {}),
    },
    acrValues: [phonePinAcr],
    subjectTypes: ['public', 'pairwise'],
    // oidc-provider derives the sector from the single redirect host the registry allows for pairwise.
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      pairwise(String(client.sectorIdentifier), accountId),
    rotateRefreshToken: true,
    ttl: {
      ...oidcTtl,
      ...(deps.ciba
        ? { BackchannelAuthenticationRequest: (ctx: KoaContextWithOIDC) => deps.ciba?.ttl(ctx) ?? 1 }
        : {}),
    },
    interactions: {
      url: (_ctx, interaction) => deps.interactionPath(interaction.uid),
      ...(deps.idpSessions ? { policy: idpSessionPolicy(oidc, server, deps.idpSessions) } : {}),
    },
    // `sub` is the NS userid (public subject per server); a user without an unblocked account at this
    // server has no account here, so tokens issued to them stop working. The profile comes with the same
    // NS call (oidc-provider asks for claims in the same request: ID token, userinfo), so a change in NS
    // shows in the next token.
    async findAccount(_ctx, sub) {
      const user = await ns.activeUser(server, sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => claimsFromProfile(sub, user.profile) };
    },
    // First-party clients (DESIGN.md §5) get what they ask for without a consent page. A third-party
    // client gets only what the user consented to: its existing grant as it is, so that anything missing
    // makes oidc-provider ask for consent (the interaction's consent page).
    async loadExistingGrant(ctx) {
      const { oidc: o } = ctx;
      const accountId = o.session?.accountId;
      if (!o.client || !accountId) return undefined;
      const grantId = o.result?.consent?.grantId ?? o.session.grantIdFor(o.client.clientId);
      let grant = grantId ? await o.provider.Grant.find(grantId) : undefined;
      if (grant && (grant.accountId !== accountId || grant.clientId !== o.client.clientId)) grant = undefined;
      if (isThirdParty(o.client)) return grant;
      grant ??= new o.provider.Grant({ clientId: o.client.clientId, accountId });
      grant.addOIDCScope(o.requestParamOIDCScopes);
      if (o.requestParamClaims.size > 0) grant.addOIDCClaims(o.requestParamClaims);
      await grant.save();
      return grant;
    },
    extraClientMetadata: { properties: [thirdPartyProperty] },
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false,
    renderError: (ctx, out) => deps.renderError(ctx, out),
  };
  const provider = new oidc.Provider(issuerFor(deps.publicUrl, server), configuration);
  provider.proxy = deps.trustProxy;
  if (deps.ciba) {
    provider.use(unauthorizedClientForCiba);
    provider.use(deps.ciba.pollInterval);
  }
  // A confirmed "log me out" also ends the browser's NS login session of this server: the user asked to
  // leave, and an approved NS login must not outlive that in the browser. "Stay logged in" (only the
  // requesting client's part ends) leaves it alone.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !ctx.oidc.params?.logout) return;
    // The IdP session this oidc-provider session belonged to ends too, and with it every other front door
    // of the browser (SAML SPs, forward-auth); this session's clients oidc-provider has just told itself.
    const uid = ctx.oidc.session?.uid;
    if (deps.idpSessions && uid) {
      const participant = { protocol: 'oidc', sessionUid: uid } as const;
      // Where oidc-provider sends the browser (the RP's post-logout URI or its own page) comes after the
      // front-channel participants (SAML SPs) were told through the browser.
      let next = ctx.response.get('location');
      for (const idp of await deps.idpSessions.sessionsOf(server, participant)) {
        const ended = await deps.idpSessions.end(idp, 'oidc_logout', { ctx, except: participant });
        if (next) next = (await deps.idpSessions.frontChannel(idp, ended, next)) ?? next;
      }
      if (next && next !== ctx.response.get('location')) ctx.redirect(next);
    }
    const nonce = ctx.cookies.get(ns.browserSessionCookieName(server), { signed: false });
    if (nonce) await ns.endBrowserSession(server, nonce, 'idp-oidc');
  });
  // An oidc-provider session that logged a user in joins the browser's IdP session of that user, so that
  // the end of the IdP session (wherever it starts) ends this one too.
  if (deps.idpSessions) {
    const idpSessions = deps.idpSessions;
    provider.use(async (ctx, next) => {
      await next();
      const route = ctx.oidc?.route;
      if (route !== 'authorization' && route !== 'resume') return;
      const session = ctx.oidc?.session;
      if (!session?.accountId || session.destroyed || ctx.status >= 400) return;
      const idp = await idpSessions.current(ctx, server);
      if (idp && idp.userid === session.accountId)
        await idpSessions.join(idp, { protocol: 'oidc', sessionUid: session.uid });
    });
  }
  const log = deps.logger.child({ server });
  provider.on('server_error', (_ctx: unknown, err: Error) =>
    log.error({ err: { name: err.name, message: err.message } }, 'oidc-provider server error'),
  );
  const rejected = (event: string) => (_ctx: unknown, err: { error?: string; error_description?: string }) =>
    log.debug({ event, error: err.error, description: err.error_description }, 'oidc rejection');
  provider.on('grant.error', rejected('grant.error'));
  provider.on('authorization.error', rejected('authorization.error'));
  provider.on('userinfo.error', rejected('userinfo.error'));
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) =>
    log.info({ event: 'oidc_grant_revoked', grantId }, 'grant revoked'),
  );
  // A relying party that did not take the logout token: the user's logout at the IdP still stands, so
  // this is for the operator to follow up (the RP keeps its own session until it expires). The events are
  // missing from oidc-provider's typings.
  const events = provider as unknown as NodeJS.EventEmitter;
  events.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) =>
    log.warn(
      {
        event: 'oidc_backchannel_logout_failed',
        clientId: client.clientId,
        err: { name: err.name, message: err.message },
      },
      'back-channel logout failed',
    ),
  );
  events.on('backchannel.success', (_ctx: unknown, client: { clientId: string }) =>
    log.info(
      { event: 'oidc_backchannel_logout', clientId: client.clientId },
      'back-channel logout delivered',
    ),
  );
  return provider;
}

/** `defaultResource` runs `hold` first: see ciba.ts `holdDetails`. */
function withHeldDetails(
  config: ReturnType<typeof resourceIndicators>,
  hold: ((ctx: KoaContextWithOIDC) => void) | undefined,
): ReturnType<typeof resourceIndicators> {
  const { defaultResource } = config;
  if (!hold || !defaultResource) return config;
  return {
    ...config,
    defaultResource: async (ctx, client, oneOf) => {
      hold(ctx);
      return defaultResource(ctx, client, oneOf);
    },
  };
}

/**
 * oidc-provider's interaction policy plus one check: a browser whose oidc-provider session outlived its IdP
 * session (ended by `/logout`, SAML or its timeouts) or whose IdP session now belongs to someone else must
 * log in again (`login_required` for prompt=none), so OIDC never keeps a user logged in that the other front
 * doors consider gone.
 */
function idpSessionPolicy(oidc: OidcProviderModule, server: string, idpSessions: IdpSessionService) {
  const { base, Check } = oidc.interactionPolicy;
  const policy = base();
  policy.get('login')?.checks.add(
    new Check('idp_session_ended', 'the IdP session ended', 'login_required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return false;
      const idp = await idpSessions.current(ctx, server);
      return idp?.userid !== accountId;
    }),
  );
  return policy;
}
