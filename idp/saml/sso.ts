// Single sign-on of a virtual server's SAML IdP (saml-profiles §4.1): an AuthnRequest (or an IdP-initiated
// start) answered at once from the browser's IdP session, or after a QR login; declines, IsPassive without a
// session and unmet RequestedAuthnContext answered with an error status — always to an ACS of the SP's
// metadata, never to anything the request names on its own.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import type { IdpLogin, IdpSession, IdpSessions } from '../session/types.js';
import { authnContextClassRef, satisfiable } from './authn-context.js';
import type { AuthnRequestInfo } from './authn-request.js';
import { SamlError } from './errors.js';
import type { SamlKeyStore } from './keys.js';
import { buildErrorResponse, buildLoginResponse, status } from './response.js';
import type { SamlSp, SpRepository } from './sps.js';
import type { PendingRequest, SamlStore } from './store.js';
import { chooseNameIdFormat, mapAttributes, nameIdValue, persistentNameId } from './subject.js';

export interface SamlUrls {
  entityId(server: string): string;
  sso(server: string): string;
  slo(server: string): string;
  loginPage(server: string, pendingId: string): string;
}

export function samlUrls(publicUrl: string): SamlUrls {
  const base = (server: string) => `${publicUrl}/saml/${server}`;
  return {
    entityId: (server) => `${base(server)}/metadata`,
    sso: (server) => `${base(server)}/sso`,
    slo: (server) => `${base(server)}/slo`,
    loginPage: (server, id) => `/saml/${server}/login/${id}`,
  };
}

/** What the browser is sent: a form to the ACS, or the QR login page. */
export type SsoOutcome =
  | { kind: 'post'; acs: string; response: string; relayState?: string | undefined }
  | { kind: 'login'; location: string };

export interface SsoDeps {
  urls: SamlUrls;
  secretKey: string;
  sps: SpRepository;
  keys: SamlKeyStore;
  store: SamlStore;
  sessions: IdpSessions;
  ns: NsPeer;
  clock: Clock;
  random: Random;
  logger: Logger;
}

const randomId = (random: Random, bytes = 24) => Buffer.from(random.bytes(bytes)).toString('base64url');

export function createSso(deps: SsoDeps) {
  const { urls, sps, keys, store, sessions, ns, clock, random, logger } = deps;
  const persistent = new Map<string, (sp: string, userid: string) => string>();
  const persistentFor = (server: string) => {
    let f = persistent.get(server);
    if (!f) {
      f = persistentNameId(deps.secretKey, server);
      persistent.set(server, f);
    }
    return f;
  };

  /** The SessionIndex an SP sees for a session: stable per (session, SP), not the session id itself. */
  const sessionIndexOf = (session: IdpSession, spEntityId: string) =>
    `_${createHash('sha256').update(`${session.id}\n${spEntityId}`).digest('hex').slice(0, 40)}`;

  const errorResponse = async (
    server: string,
    to: { acs: string; requestId?: string | undefined; relayState?: string | undefined },
    code: string,
    message: string,
  ): Promise<SsoOutcome> => ({
    kind: 'post',
    acs: to.acs,
    relayState: to.relayState,
    response: buildErrorResponse({
      idpEntityId: urls.entityId(server),
      acs: to.acs,
      inResponseTo: to.requestId,
      // saml-core §3.2.2.2: the request's own fault (a NameID policy) is the requester's; the rest ours.
      top: code === status.invalidNameIdPolicy ? status.requester : status.responder,
      code,
      message,
      now: clock.now(),
      keys: await keys.get(server),
      random,
    }),
  });

  /** The success Response for `session` to `sp`, recording the SP as a participant of the session. */
  const loginResponse = async (
    server: string,
    sp: SamlSp,
    request: PendingRequest,
    session: IdpSession,
  ): Promise<SsoOutcome> => {
    const profile = await ns.userProfile(server, session.userid);
    const sub = persistentFor(server)(sp.entityId, session.userid);
    const nameId = nameIdValue({
      format: request.nameIdFormat,
      userid: session.userid,
      spEntityId: sp.entityId,
      profile,
      persistent: persistentFor(server),
      transient: () => `_${Buffer.from(random.bytes(20)).toString('hex')}`,
    });
    const to = { acs: request.acs, requestId: request.requestId, relayState: request.relayState };
    if (nameId === undefined)
      return errorResponse(
        server,
        to,
        status.invalidNameIdPolicy,
        'The user has no value for this NameID format',
      );
    const sessionIndex = sessionIndexOf(session, sp.entityId);
    const encryptFor = sp.settings.encrypt ? sp.metadata.encryptionCertificates[0] : undefined;
    const response = await buildLoginResponse({
      idpEntityId: urls.entityId(server),
      spEntityId: sp.entityId,
      acs: request.acs,
      ...(request.requestId !== undefined && { inResponseTo: request.requestId }),
      nameId: { value: nameId, format: request.nameIdFormat },
      sessionIndex,
      authnInstant: session.authTime * 1000,
      authnContextClassRef,
      attributes: mapAttributes(sp.settings, session.userid, sub, profile),
      now: clock.now(),
      sign: sp.settings.sign,
      ...(encryptFor !== undefined && { encryptFor }),
      keys: await keys.get(server),
      random,
    });
    await sessions.join(session, {
      protocol: 'saml',
      spEntityId: sp.entityId,
      nameId,
      nameIdFormat: request.nameIdFormat,
      sessionIndex,
    });
    logger.info(
      { event: 'saml_sso', server, sp: sp.entityId, userid: session.userid },
      'SAML assertion issued',
    );
    return { kind: 'post', acs: request.acs, response, relayState: request.relayState };
  };

  /** The browser's live session whose user may still log in (not blocked meanwhile). */
  const usableSession = async (ctx: Context, server: string) => {
    const session = await sessions.current(ctx, server);
    if (session && (await ns.userActive(server, session.userid))) return session;
    return undefined;
  };

  /**
   * A checked request (SP-initiated) or an IdP-initiated start: an unmet RequestedAuthnContext is answered at
   * once; everything else waits on our own login page, which the browser reaches by a top-level GET — so its
   * SameSite=Lax IdP session cookie is there also when the SP sent the request by a cross-site POST.
   */
  const answer = async (
    server: string,
    sp: SamlSp,
    request: PendingRequest & { requestedAuthnContext?: AuthnRequestInfo['requestedAuthnContext'] },
  ): Promise<SsoOutcome> => {
    const to = { acs: request.acs, requestId: request.requestId, relayState: request.relayState };
    if (!satisfiable(request.requestedAuthnContext))
      return errorResponse(server, to, status.noAuthnContext, 'Only MobileTwoFactorContract is available');
    const id = randomId(random);
    const { requestedAuthnContext: _r, ...pending } = request;
    await store.createPending({ id, server, spEntityId: sp.entityId, request: pending });
    return { kind: 'login', location: urls.loginPage(server, id) };
  };

  return {
    /** SP-initiated: the request was read and checked (authn-request.ts); consumes its ID. */
    async fromRequest(server: string, info: AuthnRequestInfo): Promise<SsoOutcome> {
      const sp = await sps.get(server, info.spEntityId);
      if (!sp) throw new SamlError('unknown_sp', 'The Issuer is not a registered service provider');
      const nameIdFormat = chooseNameIdFormat(
        info.nameIdFormat,
        sp.metadata.nameIdFormats,
        sp.settings.nameIdFormat,
      );
      if (!(await store.useRequestId(server, sp.entityId, info.id)))
        throw new SamlError('replayed', 'This AuthnRequest was used before');
      const request = {
        requestId: info.id,
        acs: info.acs,
        ...(info.relayState !== undefined && { relayState: info.relayState }),
        forceAuthn: info.forceAuthn,
      };
      if (nameIdFormat === undefined)
        return errorResponse(
          server,
          { acs: info.acs, requestId: info.id, relayState: info.relayState },
          status.invalidNameIdPolicy,
          sp.settings.nameIdFormat !== undefined
            ? `This SP gets ${sp.settings.nameIdFormat} NameIDs only`
            : 'Unsupported NameID format',
        );
      return answer(server, sp, {
        ...request,
        nameIdFormat,
        isPassive: info.isPassive,
        ...(info.requestedAuthnContext && { requestedAuthnContext: info.requestedAuthnContext }),
      });
    },

    /** IdP-initiated (saml-profiles §4.1.5): an unsolicited Response to the SP's default ACS. */
    async idpInitiated(server: string, sp: SamlSp, acs: string, relayState?: string) {
      return answer(server, sp, {
        acs,
        ...(relayState !== undefined && { relayState }),
        forceAuthn: false,
        isPassive: false,
        nameIdFormat:
          chooseNameIdFormat(undefined, sp.metadata.nameIdFormats, sp.settings.nameIdFormat) ?? '',
      });
    },

    /**
     * After the QR login: the IdP session from the NS login (or a RequestDenied when the phone declined),
     * the Response stored for this browser. False when the request was completed before or expired.
     */
    async complete(
      ctx: Context,
      server: string,
      pendingId: string,
      outcome: { kind: 'login'; login: IdpLogin } | { kind: 'declined' },
    ): Promise<boolean> {
      const pending = await store.getPending(server, pendingId);
      if (!pending || pending.completedAt !== null) return false;
      const sp = await sps.get(server, pending.spEntityId);
      const to = { acs: pending.request.acs, requestId: pending.request.requestId };
      let result: SsoOutcome;
      let sessionId: string | null = null;
      if (!sp) return false;
      if (outcome.kind === 'declined') {
        result = await errorResponse(server, to, status.requestDenied, 'The login was declined on the phone');
        logger.info({ event: 'saml_login_declined', server, sp: sp.entityId }, 'login declined on the phone');
      } else {
        const session = await sessions.establish(ctx, server, outcome.login);
        sessionId = session.id;
        result = await loginResponse(server, sp, pending.request, session);
      }
      if (result.kind !== 'post') return false;
      return store.complete(server, pendingId, sessionId, result.response);
    },

    /** The stored Response for the browser that completed the login, once. */
    async collect(ctx: Context, server: string, pendingId: string): Promise<SsoOutcome | undefined> {
      const pending = await store.getPending(server, pendingId);
      if (!pending || pending.response === null || pending.deliveredAt !== null) return undefined;
      if (pending.sessionId !== null) {
        const session = await sessions.current(ctx, server);
        if (session?.id !== pending.sessionId) return undefined;
      }
      if (!(await store.deliver(server, pendingId))) return undefined;
      return {
        kind: 'post',
        acs: pending.request.acs,
        response: pending.response,
        relayState: pending.request.relayState,
      };
    },

    /**
     * The login page's first step: with a usable IdP session (and no ForceAuthn) the Response at once; with
     * none and IsPassive a NoPassive status; else undefined, and the page shows the QR login.
     */
    async resume(
      ctx: Context,
      server: string,
      pendingId: string,
    ): Promise<SsoOutcome | 'expired' | undefined> {
      const pending = await store.getPending(server, pendingId);
      if (!pending || pending.completedAt !== null) return 'expired';
      const { request } = pending;
      const session = request.forceAuthn ? undefined : await usableSession(ctx, server);
      const sp = await sps.get(server, pending.spEntityId);
      if (!sp) return 'expired';
      let result: SsoOutcome;
      if (session) result = await loginResponse(server, sp, request, session);
      else if (request.isPassive)
        result = await errorResponse(
          server,
          { acs: request.acs, requestId: request.requestId, relayState: request.relayState },
          status.noPassive,
          'A login is needed',
        );
      else return undefined;
      if (result.kind !== 'post') return undefined;
      // Completed and collected in one go; a concurrent tab of the same request gets 'expired'.
      if (!(await store.complete(server, pendingId, session?.id ?? null, result.response))) return 'expired';
      if (!(await store.deliver(server, pendingId))) return 'expired';
      return result;
    },

    getPending: (server: string, id: string) => store.getPending(server, id),
  };
}

export type Sso = ReturnType<typeof createSso>;
