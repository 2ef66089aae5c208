// The OIDC login interaction: oidc-provider sends the browser here when it needs a login; the page is the
// QR login block of the virtual server, and when the phone has approved, `complete` turns that NS login into
// the IdP session (or an `access_denied` answer when the phone declined) and hands the browser back. When a
// third-party client asks for more than the user granted it, the page is the consent page instead.
import Router from '@koa/router';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { z } from 'zod';
import { problems } from '../../auth-server/common/errors.js';
import { readJson, readRawBody } from '../../auth-server/common/http/body.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { isThirdParty } from '../oidc/clients.js';
import { endSessionForAccountSwitch } from '../oidc/internals.js';
import type { OidcEntry } from '../oidc/registry.js';
import type { IdpSession, IdpSessions } from '../session/types.js';
import { renderErrorPage } from './error-page.js';
import { InteractionProblem, refusedProblem } from './login-problems.js';
import { loginPage, pageLocale, serverName, setPageHeaders } from './login-routes.js';
import { loginOf, type NsLoginCollector } from './ns-login.js';
import { consentPage, formPageCsp } from './oidc-pages.js';

export { InteractionProblem } from './login-problems.js';

export function oidcInteractionPath(server: string, uid: string): string {
  return `/oidc/${server}/interaction/${uid}`;
}

/**
 * The subject an `id_token_hint` names. oidc-provider verified the hint's signature when it accepted the
 * authorization request, and the interaction's params are its server-side copy, so decoding is enough.
 */
function hintedSubject(interaction: Interaction): string | undefined {
  const hint = interaction.params.id_token_hint;
  if (typeof hint !== 'string') return undefined;
  try {
    const { sub } = decodeJwt(hint);
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** The `sub` this client sees for the user (pairwise clients see their own form of it). */
async function subjectFor(entry: OidcEntry, clientId: string, userid: string): Promise<string> {
  const client = await entry.provider.Client.find(clientId);
  return client ? entry.subjectFor(client, userid) : userid;
}

/** Same CSRF defence as the NS browser session: a cross-site form cannot send JSON without a preflight. */
const completeBody = z.strictObject({});

/** The consent form: a decision, nothing else. */
const consentBody = z.strictObject({ decision: z.enum(['allow', 'deny']) });
const maxConsentBody = 1024;

/** Displayed only (pre-selection); never used to contact a phone. */
const maxHintLength = 256;

export interface OidcInteractionDeps {
  providers: { get(server: string): Promise<OidcEntry | undefined> };
  ns: NsPeer;
  collector: NsLoginCollector;
  logger: Logger;
  /** The IdP sessions shared with the other front doors: a login makes one, and one of them spares the QR. */
  idpSessions?: IdpSessions;
}

type Loaded = { entry: OidcEntry; interaction: Interaction; server: string };

const isSessionNotFound = (err: unknown) => (err as { name?: unknown })?.name === 'SessionNotFound';

type ConsentDetails = {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
};

/**
 * Grants everything the consent prompt found missing (a first-party client at once, a third-party one after
 * the user allowed it on the consent page); returns where to resume.
 */
async function grantMissing(entry: OidcEntry, interaction: Interaction, ctx: Context): Promise<string> {
  const { Grant } = entry.provider;
  const accountId = interaction.session?.accountId ?? '';
  const clientId = String(interaction.params.client_id ?? '');
  const existing = interaction.grantId ? await Grant.find(interaction.grantId) : undefined;
  const grant = existing ?? new Grant({ accountId, clientId });
  const details = interaction.prompt.details as ConsentDetails;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {}))
    grant.addResourceScope(resource, scopes.join(' '));
  const grantId = await grant.save();
  return entry.provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } });
}

/** `max_age` of the authorization request in seconds, if it has one. */
function requestMaxAge(interaction: Interaction): number | undefined {
  const raw = interaction.params.max_age;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Whether the browser's IdP session (made by any front door) may finish this login without a QR: not when
 * the request demands a fresh login (prompt=login), a younger one (max_age), or another user (id_token_hint).
 */
async function ssoAllowed(entry: OidcEntry, interaction: Interaction, idp: IdpSession): Promise<boolean> {
  const prompts = String(interaction.params.prompt ?? '').split(' ');
  if (prompts.includes('login')) return false;
  const maxAge = requestMaxAge(interaction);
  if (maxAge !== undefined && Math.floor(Date.now() / 1000) - idp.authTime > maxAge) return false;
  const hinted = hintedSubject(interaction);
  const clientId = String(interaction.params.client_id ?? '');
  return hinted === undefined || hinted === (await subjectFor(entry, clientId, idp.userid));
}

/** oidc-provider's login result for the facts of an IdP login. */
const loginResult = (login: { userid: string; acr: string; amr: string[]; authTime: number }) => ({
  login: { accountId: login.userid, acr: login.acr, amr: login.amr, ts: login.authTime, remember: true },
});

export function oidcInteractionRouter(deps: OidcInteractionDeps): Router {
  const { ns, collector, logger } = deps;

  /** The interaction named by the URL and held by this browser's interaction cookie, or undefined. */
  const load = async (ctx: Context): Promise<Loaded | 'unknown_server' | 'expired'> => {
    const server = String(ctx.params.server);
    const entry = serverName.test(server) ? await deps.providers.get(server) : undefined;
    if (!entry) return 'unknown_server';
    try {
      const interaction = await entry.provider.interactionDetails(ctx.req, ctx.res);
      // The cookie names the browser's current interaction; a URL of another one is not this browser's.
      if (interaction.uid !== ctx.params.uid) return 'expired';
      return { entry, interaction, server };
    } catch (err) {
      if (isSessionNotFound(err)) return 'expired';
      throw err;
    }
  };

  const router = new Router();

  router.get('/oidc/:server/interaction/:uid', async (ctx) => {
    const loaded = await load(ctx);
    if (loaded === 'unknown_server') return;
    if (loaded === 'expired') {
      renderErrorPage(ctx, 400, {
        title: 'This login request has expired',
        error: 'interaction_expired',
        description: 'Go back to the application and start the login again.',
      });
      return;
    }
    const { entry, interaction, server } = loaded;
    if (interaction.prompt.name === 'consent' && interaction.session?.accountId !== undefined) {
      const client = await entry.provider.Client.find(String(interaction.params.client_id ?? ''));
      if (!isThirdParty(client)) {
        // First-party clients (DESIGN.md §5): what they ask for is granted without a page, also when the
        // request says prompt=consent.
        ctx.redirect(await grantMissing(entry, interaction, ctx));
        ctx.status = 303;
        return;
      }
      const details = interaction.prompt.details as ConsentDetails;
      const redirectUri = interaction.params.redirect_uri;
      ctx.set(
        'Content-Security-Policy',
        formPageCsp([typeof redirectUri === 'string' ? redirectUri : undefined]),
      );
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = consentPage({
        server,
        client: String(client?.clientName ?? client?.clientId ?? ''),
        user: interaction.session.accountId,
        scopes: details.missingOIDCScope ?? [],
        claims: details.missingOIDCClaims ?? [],
        action: `${oidcInteractionPath(server, interaction.uid)}/consent`,
        // The language the login page of this request chose: ui_locales, else the browser's.
        locale: pageLocale(ctx, interaction.params.ui_locales),
      });
      ctx.vary('Accept-Language');
      return;
    }
    if (interaction.prompt.name !== 'login') {
      renderErrorPage(ctx, 400, { error: 'interaction_required', description: 'Unsupported interaction.' });
      return;
    }
    // SSO across front doors: the browser's IdP session (from SAML, forward-auth or an earlier OIDC login)
    // logs it in without a QR.
    const idp = await deps.idpSessions?.current(ctx, server);
    if (idp && (await ssoAllowed(entry, interaction, idp))) {
      if (interaction.session?.accountId !== undefined && interaction.session.accountId !== idp.userid)
        await endSessionForAccountSwitch(entry.provider, interaction, Math.floor(Date.now() / 1000));
      logger.info(
        { event: 'oidc_login_sso', server, clientId: interaction.params.client_id, userid: idp.userid },
        'OIDC login from the IdP session',
      );
      const location = await entry.provider.interactionResult(ctx.req, ctx.res, loginResult(idp), {
        mergeWithLastSubmission: false,
      });
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(location);
      ctx.status = 303;
      return;
    }
    const hint = interaction.params.login_hint;
    setPageHeaders(ctx);
    ctx.body = loginPage({
      server,
      // The authorization request's ui_locales (OIDC Core §3.1.2.1), else the browser's languages.
      locale: pageLocale(ctx, interaction.params.ui_locales),
      complete: `${oidcInteractionPath(server, interaction.uid)}/complete`,
      loginHint: typeof hint === 'string' ? hint.slice(0, maxHintLength) : '',
    });
  });

  router.post('/oidc/:server/interaction/:uid/complete', async (ctx) => {
    await readJson(ctx, completeBody);
    const loaded = await load(ctx);
    if (loaded === 'unknown_server') throw problems.notFound('No such virtual server');
    if (loaded === 'expired')
      throw new InteractionProblem(
        400,
        'bad_request',
        'interaction_expired',
        'The login request has expired',
      );
    const { entry, interaction, server } = loaded;
    const nonce = ctx.cookies.get(ns.browserSessionCookieName(server));
    // Only a login approved after this authorization request began counts (iat is in seconds).
    const outcome = await collector.collect(server, nonce, interaction.iat * 1000);
    const clientId = String(interaction.params.client_id ?? '');
    const hinted = hintedSubject(interaction);
    let result: Parameters<OidcEntry['provider']['interactionResult']>[2];
    if (outcome.kind === 'refused') {
      throw refusedProblem(outcome.reason);
    } else if (outcome.kind === 'declined') {
      logger.info({ event: 'oidc_login_declined', server, clientId }, 'login declined on the phone');
      result = { error: 'access_denied', error_description: 'The login was declined on the phone' };
    } else if (hinted !== undefined && hinted !== (await subjectFor(entry, clientId, outcome.userid))) {
      // OIDC Core §3.1.2.1: the RP asked for the user of its ID token; a code for whoever scanned instead
      // would log that person into the RP's session of someone else.
      logger.info(
        { event: 'oidc_login_hint_mismatch', server, clientId },
        'login by another user than the hint',
      );
      result = {
        error: 'login_required',
        error_description: 'Another user logged in than the one id_token_hint names',
      };
    } else {
      // The IdP session first: replacing another user's ends that user's oidc-provider session with its
      // back-channel logout tokens, which the account switch below would otherwise delete unsent.
      await deps.idpSessions?.establish(ctx, server, loginOf(outcome));
      if (interaction.session?.accountId !== undefined && interaction.session.accountId !== outcome.userid)
        await endSessionForAccountSwitch(entry.provider, interaction, Math.floor(Date.now() / 1000));
      logger.info(
        { event: 'oidc_login', server, clientId, userid: outcome.userid, accountId: outcome.accountId },
        'IdP session from NS login',
      );
      result = loginResult(outcome);
    }
    const location = await entry.provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location };
  });

  router.post('/oidc/:server/interaction/:uid/consent', async (ctx) => {
    const loaded = await load(ctx);
    if (loaded === 'unknown_server') return;
    if (loaded === 'expired') {
      renderErrorPage(ctx, 400, {
        title: 'This login request has expired',
        error: 'interaction_expired',
        description: 'Go back to the application and start the login again.',
      });
      return;
    }
    const { entry, interaction, server } = loaded;
    // CSRF: the interaction cookie is SameSite=Lax (not sent with a cross-site POST), and the form must
    // come from a page of this origin (browsers send Origin with every form POST).
    if (ctx.get('origin') !== new URL(entry.provider.issuer).origin) {
      renderErrorPage(ctx, 403, {
        error: 'invalid_request',
        description: 'The form was not sent from this site.',
      });
      return;
    }
    if (!ctx.is('application/x-www-form-urlencoded')) {
      renderErrorPage(ctx, 415, { error: 'invalid_request', description: 'Expected a form.' });
      return;
    }
    const raw = await readRawBody(ctx, maxConsentBody);
    const body = consentBody.safeParse(Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id ?? '');
    const client = await entry.provider.Client.find(clientId);
    if (!body.success) {
      renderErrorPage(ctx, 400, {
        error: 'invalid_request',
        description: 'Expected decision=allow or deny.',
      });
      return;
    }
    if (interaction.prompt.name !== 'consent' || !accountId || !isThirdParty(client)) {
      renderErrorPage(ctx, 400, { error: 'invalid_request', description: 'Nothing to consent to here.' });
      return;
    }
    let location: string;
    if (body.data.decision === 'allow') {
      location = await grantMissing(entry, interaction, ctx);
      logger.info({ event: 'oidc_consent', server, clientId, userid: accountId }, 'consent given');
    } else {
      location = await entry.provider.interactionResult(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: 'The user denied access' },
        { mergeWithLastSubmission: false },
      );
      logger.info({ event: 'oidc_consent_denied', server, clientId, userid: accountId }, 'consent denied');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(location);
    ctx.status = 303;
  });

  return router;
}
