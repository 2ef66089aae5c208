// Everything that reaches into oidc-provider beyond its documented configuration lives here, and says why
// (CONVENTIONS.md 9): loading it lazily, and handing a koa request of our app to a provider mounted below a
// path that has a parameter (`/oidc/:server`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../auth-server/common/logging.js';
import { isThirdParty } from './clients.js';

export type OidcProviderModule = typeof import('oidc-provider');

let loading: Promise<OidcProviderModule> | undefined;

/**
 * Imports oidc-provider on first use. Two reasons: (1) commands that never serve OIDC (`nextauth config`,
 * `migrate`, `--help`) do not load it; (2) on import it prints "Unsupported runtime" on Node 20, which this
 * project supports (DESIGN.md §7; the APIs it uses — URL.parse, crypto.hash — exist since 20.18/20.12, and
 * the OIDC suites run on Node 20). That one line is turned into a debug log instead of stderr noise that
 * would break `nextauth`'s one-line error contract; every other console output passes through untouched.
 */
export function loadOidcProvider(logger?: Logger): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      const line = args.map(String).join(' ');
      if (line.includes('oidc-provider WARNING: Unsupported runtime')) {
        logger?.debug({ node: process.version }, 'oidc-provider prefers Node 22+; running on Node 20');
        return;
      }
      original(...args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
    }
  })();
  return loading;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Runs a provider's own koa app for a request that arrived under `mountPath` in our app. oidc-provider
 * derives its mount path (and so every URL it builds) from `req.originalUrl` minus `req.url`, the convention
 * of express/koa-mount; koa-mount itself cannot be used because the prefix holds the server name, and
 * running the provider in its own koa context (rather than ours) keeps its cookie keys per provider.
 */
export async function handOver(
  handler: NodeHandler,
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  mountPath: string,
): Promise<void> {
  const url = req.url ?? '/';
  const rest = url.slice(mountPath.length);
  const previousOriginal = req.originalUrl;
  req.originalUrl = url;
  req.url = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  try {
    await handler(req, res);
  } finally {
    req.url = url;
    req.originalUrl = previousOriginal;
  }
}

/**
 * Another user proved themselves in a browser whose IdP session belongs to someone else (prompt=login, a
 * shared computer). oidc-provider would then send the browser through its logout confirmation, a page out
 * of place in the middle of a login; instead the old IdP session ends here and the interaction forgets it,
 * so the resumed authorization starts a fresh session for the new user.
 */
export async function endSessionForAccountSwitch(
  provider: import('oidc-provider').default,
  interaction: import('oidc-provider').Interaction,
  nowSeconds: number,
): Promise<void> {
  const uid = interaction.session?.uid;
  if (uid) {
    const session = await provider.Session.findByUid(uid);
    await session?.destroy();
  }
  interaction.session = undefined;
  await interaction.save(Math.max(1, interaction.exp - nowSeconds));
}

/**
 * OIDC Core §11 lets `offline_access` stand only with `prompt=consent`, and oidc-provider drops it otherwise
 * (actions/authorization/scopes.js) before the interaction stores the request. DESIGN.md §5 wants the
 * opposite for first-party clients: `offline_access` yields a refresh token
 * without a consent page. oidc-provider calls every `extraParams` validator on each authorization request
 * after that check, with the context, so this one puts the scope back when the request itself asked for it
 * and the client may use refresh tokens. The parameter itself carries nothing.
 */
export const offlineAccessHook = {
  param: 'x_nextauth_first_party',
  async restore(
    ctx: import('oidc-provider').KoaContextWithOIDC,
    _value: string | undefined,
    client: import('oidc-provider').Client,
  ): Promise<void> {
    const params = ctx.oidc.params;
    if (ctx.oidc.route !== 'authorization' || !params) return;
    const raw =
      ctx.method === 'POST' ? (ctx.oidc.body as { scope?: unknown } | undefined)?.scope : ctx.query.scope;
    if (typeof raw !== 'string' || !raw.split(' ').includes('offline_access')) return;
    if (!client.grantTypeAllowed('refresh_token')) return;
    // A third-party client asks for offline_access as the spec says (with prompt=consent) and the user
    // sees it on the consent page.
    if (isThirdParty(client)) return;
    if (!String(params.response_type ?? '').includes('code')) return;
    const scopes = new Set(
      String(params.scope ?? '')
        .split(' ')
        .filter(Boolean),
    );
    scopes.add('offline_access');
    params.scope = [...scopes].join(' ');
  },
};

/**
 * Ends an oidc-provider session from outside a request (its IdP session ended through another front door or
 * `/logout`): what a confirmed RP-initiated "log me out" does (oidc-provider's actions/end_session.js
 * `confirm`), without the browser — a logout token to each client that registered a back-channel logout
 * URI, its grants revoked (unless they persist logout, as for offline_access there), the session deleted.
 * oidc-provider has no API for this; `Client#backchannelLogout` works without a request context.
 */
export async function endOidcSessionByUid(
  provider: import('oidc-provider').default,
  uid: string,
): Promise<boolean> {
  const session = await provider.Session.findByUid(uid);
  if (!session) return false;
  const accountId = session.accountId;
  const authorizations = Object.entries(
    (session.authorizations ?? {}) as Record<string, { grantId?: string; persistsLogout?: boolean }>,
  );
  const events = provider as unknown as NodeJS.EventEmitter;
  await Promise.all(
    authorizations.map(async ([clientId]) => {
      const client = await provider.Client.find(clientId);
      if (!client?.backchannelLogoutUri || !accountId) return;
      const sid = session.sidFor(clientId);
      // Missing from oidc-provider's typings.
      const logout = (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> })
        .backchannelLogout;
      await logout.call(client, accountId, sid ?? '').then(
        () => events.emit('backchannel.success', undefined, client, accountId, sid),
        (err: unknown) => events.emit('backchannel.error', undefined, err, client, accountId, sid),
      );
    }),
  );
  await Promise.all(
    authorizations.map(async ([, { grantId, persistsLogout }]) => {
      if (!grantId || persistsLogout) return;
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.BackchannelAuthenticationRequest.revokeByGrantId(grantId),
        provider.DeviceCode.revokeByGrantId(grantId),
      ]);
      const grant = await provider.Grant.find(grantId);
      await grant?.destroy();
    }),
  );
  await session.destroy();
  return true;
}
