// SP-initiated single logout (saml-profiles §4.4): a LogoutRequest checked like an AuthnRequest, matched
// against the SAML participants of the browser's IdP session (NameID and SessionIndex as we issued them),
// and answered with a signed LogoutResponse to the SP's SingleLogoutService from its metadata. A request
// that names someone else gets a non-Success status and changes nothing.
import { createHmac, hkdfSync, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { z } from 'zod';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import { checkSpMessage, samlNs } from './authn-request.js';
import { SamlError } from './errors.js';
import type { SamlKeyPair } from './keys.js';
import type { PostMessage, RedirectMessage } from './request-decode.js';
import { newSamlId, status, xmlEscape } from './response.js';
import { childElements } from './signature.js';
import { bindings } from './sp-metadata.js';
import type { SamlSp } from './sps.js';
import { signElement } from './xml-sign.js';

export interface LogoutRequestInfo {
  id: string;
  spEntityId: string;
  nameId: string;
  sessionIndexes: string[];
  relayState?: string;
}

/**
 * The NameID's value: exactly one text node. A comment or processing instruction inside it would let
 * `textContent` and a canonicalizing verifier read different identities (CVE-2017-11427 class), so it is
 * refused rather than interpreted.
 */
function nameIdOf(el: Element): string {
  const nameIds = childElements(el, samlNs.assertion, 'NameID');
  const nameId = nameIds[0];
  if (!nameId || nameIds.length !== 1)
    throw new SamlError('malformed', 'Expected one NameID (EncryptedID is not supported)');
  const children = Array.from(nameId.childNodes as unknown as Iterable<Node>);
  if (children.length !== 1 || children[0]?.nodeType !== 3)
    throw new SamlError('malformed', 'NameID must be plain text');
  return (nameId.textContent ?? '').trim();
}

export async function readLogoutRequest(
  message: RedirectMessage | PostMessage,
  deps: { sloUrl: string; clock: Clock; findSp(entityId: string): Promise<SamlSp | undefined> },
): Promise<LogoutRequestInfo> {
  const { sp, el, id } = await checkSpMessage(
    message,
    { localName: 'LogoutRequest', endpoint: deps.sloUrl },
    deps,
  );
  return {
    id,
    spEntityId: sp.entityId,
    nameId: nameIdOf(el),
    sessionIndexes: childElements(el, samlNs.protocol, 'SessionIndex').map((s) =>
      (s.textContent ?? '').trim(),
    ),
    ...(message.relayState !== undefined && { relayState: message.relayState }),
  };
}

/** The verified request, carried from the SP's (maybe cross-site POST) request to our top-level GET. */
const ticketSchema = z.strictObject({
  s: z.string(),
  sp: z.string(),
  n: z.string(),
  i: z.array(z.string()),
  id: z.string(),
  r: z.string().optional(),
  exp: z.number(),
});

/** HMAC-protected, short-lived: names a request already checked and used up (its ID is in the replay table). */
export function logoutTickets(secretKey: string, clock: Clock) {
  const key = Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-saml-logout-ticket-v1', '', 32));
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    issue(server: string, info: LogoutRequestInfo): string {
      const body = Buffer.from(
        JSON.stringify({
          s: server,
          sp: info.spEntityId,
          n: info.nameId,
          i: info.sessionIndexes,
          id: info.id,
          ...(info.relayState !== undefined && { r: info.relayState }),
          exp: clock.now() + 60_000,
        }),
      ).toString('base64url');
      return `${body}.${mac(body)}`;
    },
    open(server: string, ticket: string): LogoutRequestInfo | undefined {
      const [body = '', tag = ''] = ticket.split('.');
      if (tag.length === 0 || mac(body) !== tag) return undefined;
      const parsed = ticketSchema.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      if (!parsed.success || parsed.data.s !== server || parsed.data.exp < clock.now()) return undefined;
      const t = parsed.data;
      return {
        id: t.id,
        spEntityId: t.sp,
        nameId: t.n,
        sessionIndexes: t.i,
        ...(t.r !== undefined && { relayState: t.r }),
      };
    },
  };
}

/** Where the LogoutResponse goes: the SP's SLO endpoint (its ResponseLocation is not supported). */
export function sloEndpoint(sp: SamlSp) {
  return sp.metadata.slo.find((e) => e.binding === bindings.post) ?? sp.metadata.slo[0];
}

export type OutgoingMessage =
  | {
      kind: 'post';
      param: 'SAMLRequest' | 'SAMLResponse';
      action: string;
      value: string;
      relayState?: string | undefined;
    }
  | { kind: 'redirect'; location: string };

/**
 * A message of ours to an SP's endpoint by its binding: HTTP-POST as a form (the XML signed, enveloped),
 * HTTP-Redirect as a URL (DEFLATE, base64, the query signed with RSA-SHA256, saml-bindings §3.4.4.1).
 */
export function outgoingMessage(input: {
  xml: string;
  id: string;
  localName: 'LogoutRequest' | 'LogoutResponse';
  param: 'SAMLRequest' | 'SAMLResponse';
  endpoint: { binding: string; location: string };
  relayState?: string | undefined;
  keys: SamlKeyPair;
}): OutgoingMessage {
  const { endpoint } = input;
  if (endpoint.binding === bindings.post) {
    const signed = signElement(input.xml, {
      id: input.id,
      localName: input.localName,
      key: input.keys.signing.privateKey,
      certificateBody: input.keys.signing.certificateBody,
    });
    return {
      kind: 'post',
      param: input.param,
      action: endpoint.location,
      value: Buffer.from(signed).toString('base64'),
      relayState: input.relayState,
    };
  }
  let query = `${input.param}=${encodeURIComponent(deflateRawSync(Buffer.from(input.xml)).toString('base64'))}`;
  if (input.relayState !== undefined) query += `&RelayState=${encodeURIComponent(input.relayState)}`;
  query += `&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`;
  const signature = sign('sha256', Buffer.from(query), input.keys.signing.privateKey).toString('base64');
  const sep = endpoint.location.includes('?') ? '&' : '?';
  return {
    kind: 'redirect',
    location: `${endpoint.location}${sep}${query}&Signature=${encodeURIComponent(signature)}`,
  };
}

/** A signed LogoutResponse (saml-core §3.7.2) for the SP's endpoint, by its binding. */
export function logoutResponse(input: {
  idpEntityId: string;
  sp: SamlSp;
  inResponseTo: string;
  success: boolean;
  relayState?: string | undefined;
  now: number;
  keys: SamlKeyPair;
  random: Random;
}): OutgoingMessage {
  const endpoint = sloEndpoint(input.sp);
  if (!endpoint) throw new SamlError('unsupported', 'The SP has no SingleLogoutService');
  const id = newSamlId(input.random);
  const statusXml = input.success
    ? `<samlp:Status><samlp:StatusCode Value="${status.success}"/></samlp:Status>`
    : `<samlp:Status><samlp:StatusCode Value="${status.requester}"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"/></samlp:StatusCode><samlp:StatusMessage>No such session of this browser</samlp:StatusMessage></samlp:Status>`;
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date(input.now).toISOString()}" Destination="${xmlEscape(endpoint.location)}" InResponseTo="${xmlEscape(input.inResponseTo)}">` +
    `<saml:Issuer>${xmlEscape(input.idpEntityId)}</saml:Issuer>${statusXml}</samlp:LogoutResponse>`;
  return outgoingMessage({
    xml,
    id,
    localName: 'LogoutResponse',
    param: 'SAMLResponse',
    endpoint,
    relayState: input.relayState,
    keys: input.keys,
  });
}

/** How long an SP may take to act on our LogoutRequest (saml-core §3.7.1 NotOnOrAfter). */
export const logoutRequestLifetimeMs = 5 * 60 * 1000;

/**
 * A signed LogoutRequest (saml-core §3.7.1) naming the participant exactly as its assertion did: the NameID
 * (value, Format, SPNameQualifier) and the SessionIndex.
 */
export function logoutRequest(input: {
  idpEntityId: string;
  endpoint: { binding: string; location: string };
  participant: { spEntityId: string; nameId: string; nameIdFormat: string; sessionIndex: string };
  now: number;
  keys: SamlKeyPair;
  random: Random;
}): { id: string; message: OutgoingMessage } {
  const id = newSamlId(input.random);
  const p = input.participant;
  const iso = (ms: number) => new Date(ms).toISOString();
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${iso(input.now)}" Destination="${xmlEscape(input.endpoint.location)}" NotOnOrAfter="${iso(input.now + logoutRequestLifetimeMs)}" Reason="urn:oasis:names:tc:SAML:2.0:logout:user">` +
    `<saml:Issuer>${xmlEscape(input.idpEntityId)}</saml:Issuer>` +
    `<saml:NameID Format="${xmlEscape(p.nameIdFormat)}" SPNameQualifier="${xmlEscape(p.spEntityId)}">${xmlEscape(p.nameId)}</saml:NameID>` +
    `<samlp:SessionIndex>${xmlEscape(p.sessionIndex)}</samlp:SessionIndex></samlp:LogoutRequest>`;
  return {
    id,
    message: outgoingMessage({
      xml,
      id,
      localName: 'LogoutRequest',
      param: 'SAMLRequest',
      endpoint: input.endpoint,
      keys: input.keys,
    }),
  };
}

export interface LogoutResponseInfo {
  id: string;
  spEntityId: string;
  inResponseTo: string;
  /** The top-level StatusCode. */
  status: string;
}

/**
 * An SP's LogoutResponse to one of our LogoutRequests, checked like its requests (schema, Issuer, signature —
 * mandatory when the SP signs its requests —, Destination = our SLO URL, IssueInstant window).
 */
export async function readLogoutResponse(
  message: RedirectMessage | PostMessage,
  deps: { sloUrl: string; clock: Clock; findSp(entityId: string): Promise<SamlSp | undefined> },
): Promise<LogoutResponseInfo> {
  const { sp, el, id } = await checkSpMessage(
    message,
    { localName: 'LogoutResponse', endpoint: deps.sloUrl },
    deps,
  );
  const inResponseTo = el.getAttribute('InResponseTo') ?? '';
  if (inResponseTo.length === 0)
    throw new SamlError('unexpected_response', 'The LogoutResponse answers no request (InResponseTo)');
  const statusEl = childElements(el, samlNs.protocol, 'Status')[0];
  const code = statusEl ? childElements(statusEl, samlNs.protocol, 'StatusCode')[0] : undefined;
  return { id, spEntityId: sp.entityId, inResponseTo, status: code?.getAttribute('Value') ?? '' };
}
