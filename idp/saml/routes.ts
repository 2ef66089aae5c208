// The SAML endpoints of each virtual server (DESIGN.md §5): metadata, SSO (HTTP-Redirect and HTTP-POST),
// IdP-initiated SSO, the QR login page of a waiting request with its `complete` and `continue` steps, and
// single logout (an SP's LogoutRequest; the chain of ours to the other SPs and their LogoutResponses).
// A request that cannot be trusted gets the error page with a 4xx status; Responses go only to an ACS of
// the SP's registered metadata.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { Clock } from '../../auth-server/common/clock.js';
import { problems } from '../../auth-server/common/errors.js';
import { readJson, readRawBody } from '../../auth-server/common/http/body.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { renderErrorPage } from '../interaction/error-page.js';
import { loginPage, pageLocale, serverName, setPageHeaders } from '../interaction/login-routes.js';
import { loginOf, type NsLoginCollector } from '../interaction/ns-login.js';
import { InteractionProblem } from '../interaction/oidc-routes.js';
import { serializeIdpCookie } from '../session/cookie.js';
import { defaultAcs, readAuthnRequest } from './authn-request.js';
import { SamlError } from './errors.js';
import type { SamlKeyStore } from './keys.js';
import { logoutChainLifetimeMs } from './logout-store.js';
import { renderPostPage, renderRedirectPage } from './post-page.js';
import { decodePost, decodeRedirect, maxRelayStateBytes } from './request-decode.js';
import { idpMetadataXml } from './samlify.js';
import { chainCookieName, type Slo, type SloStep } from './slo-service.js';
import type { SamlSp, SpRepository } from './sps.js';
import type { SamlUrls, Sso, SsoOutcome } from './sso.js';
import { supportedNameIdFormats } from './subject.js';
import { maxPostBytes } from './xml.js';

export interface SamlRoutesDeps {
  urls: SamlUrls;
  /** `NEXTAUTH_PUBLIC_URL` is https: the chain cookie is `Secure`. */
  secureCookies: boolean;
  /** How long a hop page waits for an SP to answer the browser before the chain goes on without it. */
  hopTimeoutMs: number;
  slo: Slo;
  sso: Sso;
  sps: SpRepository;
  keys: SamlKeyStore;
  ns: NsPeer;
  collector: NsLoginCollector;
  clock: Clock;
  logger: Logger;
}

type Ctx = Context & { params: Record<string, string> };

const completeBody = z.strictObject({});
const pendingIdPattern = /^[A-Za-z0-9_-]{32}$/;
const chainIdPattern = /^[A-Za-z0-9_-]{32}$/;
/** Our LogoutRequest IDs (response.ts newSamlId). */
const samlIdPattern = /^_[0-9a-f]{40}$/;

const refusalText = {
  no_login_session: 'This browser has no login session for this server',
  login_pending: 'The phone has not approved this login yet',
  login_stale: 'This login was approved before the SAML request began',
  login_used: 'This login has already been used',
} as const;

/** The HTTP-POST binding's form, size-capped before it is parsed (DESIGN.md §5: 1 MiB). */
async function readSamlForm(ctx: Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new SamlError('malformed', 'Expected an HTML form (application/x-www-form-urlencoded)');
  let raw: Buffer;
  try {
    raw = await readRawBody(ctx, maxPostBytes);
  } catch (err) {
    if ((err as { status?: number }).status === 413)
      throw new SamlError('too_large', 'The form is larger than 1 MiB');
    throw err;
  }
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

export function samlRouter(deps: SamlRoutesDeps): Router {
  const { urls, sso, sps, keys, ns, collector, logger } = deps;
  const router = new Router();

  /** The server of the URL, if NS has it; otherwise the error page (404). */
  const server = async (ctx: Ctx, next: Next) => {
    const name = String(ctx.params.server);
    if (!serverName.test(name) || !(await ns.findServer(name))) {
      renderErrorPage(ctx, 404, { error: 'unknown_server', description: 'No such virtual server.' });
      return;
    }
    await next();
  };

  /** SamlErrors as the error page (never a Response: the request could not be trusted). */
  const untrusted = async (ctx: Ctx, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof SamlError)) throw err;
      logger.info(
        { event: 'saml_request_refused', server: ctx.params.server, code: err.code },
        'SAML request refused',
      );
      renderErrorPage(ctx, err.status, { error: err.code, description: err.message });
      if (err.code === 'too_large') ctx.set('Connection', 'close');
    }
  };

  const send = (ctx: Ctx, outcome: SsoOutcome) => {
    if (outcome.kind === 'login') {
      ctx.redirect(outcome.location);
      ctx.status = 303;
      ctx.set('Cache-Control', 'no-store');
    } else {
      renderPostPage(ctx, {
        action: outcome.acs,
        param: 'SAMLResponse',
        value: outcome.response,
        relayState: outcome.relayState,
      });
    }
  };

  const expired = (ctx: Ctx) =>
    renderErrorPage(ctx, 400, {
      title: 'This login request has expired',
      error: 'interaction_expired',
      description: 'Go back to the application and start the login again.',
    });

  router.get('/saml/:server/metadata', server, async (ctx) => {
    const name = String(ctx.params.server);
    const ring = await keys.get(name);
    ctx.type = 'application/samlmetadata+xml';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = idpMetadataXml({
      entityId: urls.entityId(name),
      signingCertificates: ring.published.signing,
      encryptionCertificates: ring.published.encryption,
      nameIdFormats: supportedNameIdFormats,
      sso: urls.sso(name),
      slo: urls.slo(name),
    });
  });

  const findSp = (name: string) => (entityId: string) => sps.get(name, entityId);

  router.get('/saml/:server/sso', server, untrusted, async (ctx) => {
    const name = String(ctx.params.server);
    // The raw query: a Redirect signature is over the octets as sent (saml-bindings §3.4.4.1).
    const message = decodeRedirect(ctx.querystring, 'SAMLRequest');
    const info = await readAuthnRequest(message, {
      ssoUrl: urls.sso(name),
      clock: deps.clock,
      findSp: findSp(name),
    });
    send(ctx, await sso.fromRequest(name, info));
  });

  router.post('/saml/:server/sso', server, untrusted, async (ctx) => {
    const name = String(ctx.params.server);
    const form = await readSamlForm(ctx);
    const message = decodePost(form, 'SAMLRequest');
    const info = await readAuthnRequest(message, {
      ssoUrl: urls.sso(name),
      clock: deps.clock,
      findSp: findSp(name),
    });
    send(ctx, await sso.fromRequest(name, info));
  });

  router.get('/saml/:server/init', server, untrusted, async (ctx) => {
    const name = String(ctx.params.server);
    const entityId = ctx.query.sp;
    const relayState = ctx.query.RelayState;
    if (typeof entityId !== 'string') throw new SamlError('malformed', 'Name the SP: ?sp=<entityID>');
    if (
      relayState !== undefined &&
      (typeof relayState !== 'string' || Buffer.byteLength(relayState) > maxRelayStateBytes)
    )
      throw new SamlError('malformed', 'RelayState must be one value of at most 1024 bytes');
    const sp: SamlSp | undefined = await sps.get(name, entityId);
    if (!sp) throw new SamlError('unknown_sp', 'No such service provider');
    send(ctx, await sso.idpInitiated(name, sp, defaultAcs(sp), relayState));
  });

  router.get('/saml/:server/login/:id', server, async (ctx) => {
    const name = String(ctx.params.server);
    const id = String(ctx.params.id);
    if (!pendingIdPattern.test(id)) return expired(ctx);
    const resumed = await sso.resume(ctx, name, id);
    if (resumed === 'expired') return expired(ctx);
    if (resumed) return send(ctx, resumed);
    setPageHeaders(ctx);
    ctx.body = loginPage({
      server: name,
      locale: pageLocale(ctx),
      complete: `${urls.loginPage(name, id)}/complete`,
      loginHint: '',
    });
  });

  router.post('/saml/:server/login/:id/complete', async (ctx) => {
    await readJson(ctx, completeBody);
    const name = String(ctx.params.server);
    const id = String(ctx.params.id);
    if (!serverName.test(name) || !(await ns.findServer(name)))
      throw problems.notFound('No such virtual server');
    const pending = pendingIdPattern.test(id) ? await sso.getPending(name, id) : undefined;
    if (!pending || pending.completedAt !== null)
      throw new InteractionProblem(
        400,
        'bad_request',
        'interaction_expired',
        'The login request has expired',
      );
    const nonce = ctx.cookies.get(ns.browserSessionCookieName(name));
    // Only a login approved after this SAML request began counts.
    const outcome = await collector.collect(name, nonce, pending.createdAt);
    if (outcome.kind === 'refused')
      throw new InteractionProblem(409, 'conflict', outcome.reason, refusalText[outcome.reason]);
    const done = await sso.complete(
      ctx,
      name,
      id,
      outcome.kind === 'declined' ? { kind: 'declined' } : { kind: 'login', login: loginOf(outcome) },
    );
    if (!done)
      throw new InteractionProblem(
        400,
        'bad_request',
        'interaction_expired',
        'The login request has expired',
      );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location: `${urls.loginPage(name, id)}/continue` };
  });

  router.get('/saml/:server/login/:id/continue', server, async (ctx) => {
    const name = String(ctx.params.server);
    const id = String(ctx.params.id);
    const outcome = pendingIdPattern.test(id) ? await sso.collect(ctx, name, id) : undefined;
    if (!outcome) return expired(ctx);
    send(ctx, outcome);
  });

  // Single logout started by an SP (HTTP-Redirect or HTTP-POST): checked, its ID used up, then — like SSO —
  // continued by a top-level GET of ours, where the SameSite=Lax IdP session cookie is sent.
  const startLogout = async (ctx: Ctx, message: Parameters<Slo['start']>[1]) => {
    const name = String(ctx.params.server);
    ctx.redirect(await deps.slo.start(name, message));
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
  };

  // A SAMLResponse at the SLO endpoint is an SP's LogoutResponse to our LogoutRequest (the chain below).
  const answerLogout = async (ctx: Ctx, message: Parameters<Slo['answer']>[1]) => {
    const name = String(ctx.params.server);
    ctx.redirect(await deps.slo.answer(name, message));
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
  };

  router.get('/saml/:server/slo', server, untrusted, async (ctx) => {
    if (new URLSearchParams(ctx.querystring).has('SAMLResponse'))
      return answerLogout(ctx, decodeRedirect(ctx.querystring, 'SAMLResponse'));
    await startLogout(ctx, decodeRedirect(ctx.querystring, 'SAMLRequest'));
  });

  router.post('/saml/:server/slo', server, untrusted, async (ctx) => {
    const form = await readSamlForm(ctx);
    if (form.SAMLResponse !== undefined) return answerLogout(ctx, decodePost(form, 'SAMLResponse'));
    await startLogout(ctx, decodePost(form, 'SAMLRequest'));
  });

  /**
   * The chain cookie (httpOnly, short-lived) names the chain the browser is walking, so that coming back to the
   * IdP's logout page — Back from an SP that never sends the browser on — resumes it (front-door.ts).
   */
  const chainCookie = (ctx: Ctx, value: string, maxAgeSeconds: number) =>
    ctx.append(
      'Set-Cookie',
      serializeIdpCookie(chainCookieName, value, maxAgeSeconds, { secure: deps.secureCookies }),
    );

  /** A step of single logout: a redirect of ours, the LogoutResponse to an SP, or a hop to the next SP. */
  const sendStep = (ctx: Ctx, step: SloStep, hop: boolean, chain?: string) => {
    const location =
      step.kind === 'location'
        ? step.location
        : step.message.kind === 'redirect' && !hop
          ? step.message.location
          : undefined;
    if (location !== undefined) {
      ctx.redirect(location);
      ctx.status = 303;
      ctx.set('Cache-Control', 'no-store');
      return;
    }
    if (step.kind === 'location') return;
    // A hop to an SP is a page of ours even for HTTP-Redirect: it stays in the history, so an SP that never
    // answers is left with the Back button, and coming back here moves the chain on (docs/saml.md).
    const { message } = step;
    const giveUp =
      chain !== undefined && step.awaiting !== undefined
        ? { url: `${chain}&u=${step.awaiting}`, afterMs: deps.hopTimeoutMs }
        : undefined;
    if (message.kind === 'redirect') renderRedirectPage(ctx, message.location, giveUp);
    else
      renderPostPage(
        ctx,
        {
          action: message.action,
          param: message.param,
          value: message.value,
          relayState: message.relayState,
        },
        giveUp,
      );
  };

  router.get('/saml/:server/slo/done', server, untrusted, async (ctx) => {
    const name = String(ctx.params.server);
    const ticket = typeof ctx.query.t === 'string' ? ctx.query.t : '';
    const step = await deps.slo.finish(ctx, name, ticket);
    if (!step) return expired(ctx);
    sendStep(ctx, step, false);
  });

  // The chain of IdP-initiated LogoutRequests, one SP per visit.
  router.get('/saml/:server/slo/next', server, untrusted, async (ctx) => {
    const name = String(ctx.params.server);
    const id = typeof ctx.query.c === 'string' ? ctx.query.c : '';
    const unreached = ctx.query.u;
    if (unreached !== undefined && (typeof unreached !== 'string' || !samlIdPattern.test(unreached)))
      throw new SamlError('malformed', 'u must name one of our LogoutRequests');
    const step = chainIdPattern.test(id) ? await deps.slo.next(name, id, unreached) : undefined;
    if (!step) {
      // A stale give-up link leaves the chain (and its cookie) to the browser's current hop.
      if (unreached === undefined) chainCookie(ctx, '', 0);
      return renderErrorPage(ctx, 400, {
        title: 'This logout has ended',
        error: 'logout_expired',
        description: 'You are logged out of this server; some applications may not have been told.',
      });
    }
    if (step.kind === 'message' && step.awaiting !== undefined)
      chainCookie(ctx, `${name}.${id}`, logoutChainLifetimeMs / 1000);
    // The end of this server's chain (the next server's chain, if any, sets its own).
    else chainCookie(ctx, '', 0);
    sendStep(ctx, step, true, `/saml/${name}/slo/next?c=${id}`);
  });

  return router;
}
