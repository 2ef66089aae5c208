// SAML Responses to an SP's ACS (saml-core §3.3.3, saml-profiles §4.1.4.2): a success with one Assertion,
// signed as the SP is registered (Assertion, Response or both) and optionally encrypted for it (AES-256-GCM,
// RSA-OAEP), or an error status with no Assertion. Every value from outside is XML-escaped.

import type { SamlKeyPair } from './keys.js';
import { encryptAssertion } from './samlify.js';
import type { SignMode } from './sps.js';
import { signElement } from './xml-sign.js';

export const status = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
} as const;

/** How long the SP may take to consume the Response (NotOnOrAfter of the bearer confirmation). */
export const responseLifetimeMs = 5 * 60 * 1000;
/** Slack for SP clocks a little behind ours (Conditions NotBefore). */
const notBeforeSkewMs = 60 * 1000;

export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** xs:ID: a letter or underscore first; 160 random bits. */
export function newSamlId(random: { bytes(n: number): Uint8Array }): string {
  return `_${Buffer.from(random.bytes(20)).toString('hex')}`;
}

export interface SamlAttribute {
  name: string;
  values: string[];
}

export interface LoginResponseInput {
  idpEntityId: string;
  spEntityId: string;
  acs: string;
  /** The AuthnRequest's ID; absent for IdP-initiated SSO. */
  inResponseTo?: string;
  nameId: { value: string; format: string };
  sessionIndex: string;
  /** Milliseconds: when the user confirmed on the phone. */
  authnInstant: number;
  authnContextClassRef: string;
  attributes: SamlAttribute[];
  now: number;
  sign: SignMode;
  /** The SP's encryption certificate (base64 DER) when its assertions are to be encrypted. */
  encryptFor?: string;
  keys: SamlKeyPair;
  random: { bytes(n: number): Uint8Array };
}

function assertionXml(input: LoginResponseInput, id: string): string {
  const issued = instant(input.now);
  const notOnOrAfter = instant(input.now + responseLifetimeMs);
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${xmlEscape(input.inResponseTo)}"` : '';
  const attributes =
    input.attributes.length === 0
      ? ''
      : `<saml:AttributeStatement>${input.attributes
          .map(
            (a) =>
              `<saml:Attribute Name="${xmlEscape(a.name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">${a.values
                .map((v) => `<saml:AttributeValue xsi:type="xs:string">${xmlEscape(v)}</saml:AttributeValue>`)
                .join('')}</saml:Attribute>`,
          )
          .join('')}</saml:AttributeStatement>`;
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${id}" Version="2.0" IssueInstant="${issued}">` +
    `<saml:Issuer>${xmlEscape(input.idpEntityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${xmlEscape(input.nameId.format)}" SPNameQualifier="${xmlEscape(input.spEntityId)}">${xmlEscape(input.nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${xmlEscape(input.acs)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${instant(input.now - notBeforeSkewMs)}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${xmlEscape(input.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${instant(input.authnInstant)}" SessionIndex="${xmlEscape(input.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${xmlEscape(input.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    attributes +
    '</saml:Assertion>'
  );
}

function responseXml(
  input: { idpEntityId: string; acs: string; inResponseTo?: string | undefined; now: number },
  id: string,
  statusXml: string,
  inner: string,
): string {
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${xmlEscape(input.inResponseTo)}"` : '';
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${instant(input.now)}" Destination="${xmlEscape(input.acs)}"${inResponseTo}>` +
    `<saml:Issuer>${xmlEscape(input.idpEntityId)}</saml:Issuer>` +
    statusXml +
    inner +
    '</samlp:Response>'
  );
}

/** The signed (and maybe encrypted) Response, base64 as the HTTP-POST binding carries it. */
export async function buildLoginResponse(input: LoginResponseInput): Promise<string> {
  const { keys } = input;
  const signing = { key: keys.signing.privateKey, certificateBody: keys.signing.certificateBody };
  const assertionId = newSamlId(input.random);
  const responseId = newSamlId(input.random);
  let assertion = assertionXml(input, assertionId);
  if (input.sign !== 'response')
    assertion = signElement(assertion, { id: assertionId, localName: 'Assertion', ...signing });
  let xml = responseXml(
    input,
    responseId,
    `<samlp:Status><samlp:StatusCode Value="${status.success}"/></samlp:Status>`,
    assertion,
  );
  if (input.encryptFor !== undefined) xml = await encryptAssertion(xml, input.encryptFor);
  if (input.sign !== 'assertion')
    xml = signElement(xml, { id: responseId, localName: 'Response', ...signing });
  return Buffer.from(xml, 'utf8').toString('base64');
}

export interface ErrorResponseInput {
  idpEntityId: string;
  acs: string;
  inResponseTo?: string | undefined;
  /** Second-level status code (e.g. RequestDenied) under the top-level one. */
  top: typeof status.requester | typeof status.responder;
  code: string;
  message?: string;
  now: number;
  keys: SamlKeyPair;
  random: { bytes(n: number): Uint8Array };
}

/** A signed Response with an error status and no Assertion (saml-core §3.2.2.2). */
export function buildErrorResponse(input: ErrorResponseInput): string {
  const id = newSamlId(input.random);
  const message = input.message
    ? `<samlp:StatusMessage>${xmlEscape(input.message)}</samlp:StatusMessage>`
    : '';
  const xml = responseXml(
    input,
    id,
    `<samlp:Status><samlp:StatusCode Value="${input.top}"><samlp:StatusCode Value="${xmlEscape(input.code)}"/></samlp:StatusCode>${message}</samlp:Status>`,
    '',
  );
  const signed = signElement(xml, {
    id,
    localName: 'Response',
    key: input.keys.signing.privateKey,
    certificateBody: input.keys.signing.certificateBody,
  });
  return Buffer.from(signed, 'utf8').toString('base64');
}
