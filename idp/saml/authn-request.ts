// An SP's AuthnRequest (saml-core §3.4.1) read and checked before anything acts on it: schema-valid, from a
// registered SP (Issuer), signed when the SP's metadata says so and then read only from what was signed,
// addressed to this server (Destination), fresh (IssueInstant), with an ACS from the SP's metadata.
import type { Clock } from '../../auth-server/common/clock.js';
import { SamlError } from './errors.js';
import type { PostMessage, RedirectMessage } from './request-decode.js';
import {
  childElements,
  hasXmlSignature,
  verifyEnvelopedSignature,
  verifyRedirectSignature,
} from './signature.js';
import { bindings } from './sp-metadata.js';
import type { SamlSp } from './sps.js';
import { parseSamlMessage } from './xml.js';

export const samlNs = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
} as const;

/** How old an IssueInstant may be, and how far ahead of our clock (SP clocks drift). */
export const maxRequestAgeMs = 10 * 60 * 1000;
export const maxClockSkewMs = 3 * 60 * 1000;

export interface AuthnRequestInfo {
  id: string;
  spEntityId: string;
  /** The ACS (HTTP-POST) the Response goes to: one of the SP's metadata. */
  acs: string;
  forceAuthn: boolean;
  isPassive: boolean;
  /** NameIDPolicy Format, if the SP asked for one. */
  nameIdFormat?: string;
  requestedAuthnContext?: { comparison: string; classRefs: string[] };
  relayState?: string;
  issueInstant: number;
}

const text = (el: Element | undefined) => (el?.textContent ?? '').trim();

/** The ACS of the request: URL or index from the metadata, else its default (saml-metadata §2.2.3). */
function chooseAcs(sp: SamlSp, el: Element): string {
  const url = el.getAttribute('AssertionConsumerServiceURL');
  const index = el.getAttribute('AssertionConsumerServiceIndex');
  const binding = el.getAttribute('ProtocolBinding');
  if (binding && binding !== bindings.post)
    throw new SamlError('unsupported', 'Responses are sent with the HTTP-POST binding only');
  const acs = sp.metadata.acs;
  if (url) {
    if (!acs.some((a) => a.location === url))
      throw new SamlError('unknown_acs', "AssertionConsumerServiceURL is not in the SP's metadata");
    return url;
  }
  if (index) {
    const match = acs.find((a) => a.index === Number(index));
    if (!match)
      throw new SamlError('unknown_acs', "AssertionConsumerServiceIndex is not in the SP's metadata");
    return match.location;
  }
  return defaultAcs(sp);
}

export function defaultAcs(sp: SamlSp): string {
  const acs = sp.metadata.acs;
  const chosen = acs.find((a) => a.isDefault) ?? [...acs].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))[0];
  if (!chosen) throw new SamlError('unknown_acs', 'The SP has no HTTP-POST ACS');
  return chosen.location;
}

export interface CheckedMessage {
  sp: SamlSp;
  /** The message element to read from: the signed content when the message was signed. */
  el: Element;
  id: string;
  signed: boolean;
}

/**
 * The checks every message from an SP shares (AuthnRequest, LogoutRequest, LogoutResponse): schema-valid, a registered
 * Issuer, its signature when there is one or the SP must sign, Destination, IssueInstant window, ID.
 */
export async function checkSpMessage(
  message: RedirectMessage | PostMessage,
  expected: { localName: 'AuthnRequest' | 'LogoutRequest' | 'LogoutResponse'; endpoint: string },
  deps: { clock: Clock; findSp(entityId: string): Promise<SamlSp | undefined> },
): Promise<CheckedMessage> {
  const doc = await parseSamlMessage(message.xml);
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== samlNs.protocol || root.localName !== expected.localName)
    throw new SamlError('malformed', `Expected a ${expected.localName}`);
  const issuer = text(childElements(root, samlNs.assertion, 'Issuer')[0]);
  const sp = issuer ? await deps.findSp(issuer) : undefined;
  if (!sp) throw new SamlError('unknown_sp', 'The Issuer is not a registered service provider');

  let el: Element = root;
  let signed = false;
  if (message.binding === 'redirect') {
    // saml-bindings §3.4.4.1: the signature is in the query; one inside the XML is not how this binding signs.
    if (hasXmlSignature(doc))
      throw new SamlError('bad_signature', 'HTTP-Redirect messages are signed in the query');
    if (message.signature) {
      verifyRedirectSignature(message.signature, sp.metadata.signingCertificates);
      signed = true;
    }
  } else if (hasXmlSignature(doc)) {
    el = verifyEnvelopedSignature(message.xml, doc, sp.metadata.signingCertificates);
    signed = true;
    if (text(childElements(el, samlNs.assertion, 'Issuer')[0]) !== issuer)
      throw new SamlError('bad_signature', 'The signed Issuer is another one');
  }
  // DESIGN.md §5: AuthnRequestsSigned="true" covers AuthnRequest, LogoutRequest and LogoutResponse.
  if (!signed && sp.metadata.authnRequestsSigned)
    throw new SamlError('bad_signature', 'This SP must sign its requests');

  const destination = el.getAttribute('Destination');
  // saml-bindings §3.4.5.2, §3.5.5.2: a signed message must name its Destination, and it must be us.
  if ((signed && !destination) || (destination && destination !== expected.endpoint))
    throw new SamlError('wrong_destination', 'Destination is not this IdP’s endpoint');
  const issueInstant = Date.parse(el.getAttribute('IssueInstant') ?? '');
  const now = deps.clock.now();
  if (
    !Number.isFinite(issueInstant) ||
    issueInstant < now - maxRequestAgeMs ||
    issueInstant > now + maxClockSkewMs
  )
    throw new SamlError('stale', 'IssueInstant is outside the accepted window');
  const id = el.getAttribute('ID') ?? '';
  if (id.length === 0 || id.length > 256)
    throw new SamlError('malformed', 'ID must have 1 to 256 characters');
  return { sp, el, id, signed };
}

export async function readAuthnRequest(
  message: RedirectMessage | PostMessage,
  deps: { ssoUrl: string; clock: Clock; findSp(entityId: string): Promise<SamlSp | undefined> },
): Promise<AuthnRequestInfo> {
  const { sp, el, id } = await checkSpMessage(
    message,
    { localName: 'AuthnRequest', endpoint: deps.ssoUrl },
    deps,
  );
  const issueInstant = Date.parse(el.getAttribute('IssueInstant') ?? '');
  const acs = chooseAcs(sp, el);

  const policy = childElements(el, samlNs.protocol, 'NameIDPolicy')[0];
  const nameIdFormat = policy?.getAttribute('Format') || undefined;
  const requested = childElements(el, samlNs.protocol, 'RequestedAuthnContext')[0];
  const requestedAuthnContext = requested
    ? {
        comparison: requested.getAttribute('Comparison') || 'exact',
        // An AuthnContextDeclRef is never satisfied: only classes are compared.
        classRefs: [
          ...childElements(requested, samlNs.assertion, 'AuthnContextClassRef').map((c) => text(c)),
          ...childElements(requested, samlNs.assertion, 'AuthnContextDeclRef').map(() => ''),
        ],
      }
    : undefined;
  return {
    id,
    spEntityId: sp.entityId,
    acs,
    forceAuthn: el.getAttribute('ForceAuthn') === 'true' || el.getAttribute('ForceAuthn') === '1',
    isPassive: el.getAttribute('IsPassive') === 'true' || el.getAttribute('IsPassive') === '1',
    ...(nameIdFormat !== undefined && { nameIdFormat }),
    ...(requestedAuthnContext && { requestedAuthnContext }),
    ...(message.relayState !== undefined && { relayState: message.relayState }),
    issueInstant,
  };
}
