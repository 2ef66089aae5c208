// The two bindings an SP sends requests with, decoded to XML under the size caps of DESIGN.md §5:
// HTTP-Redirect (saml-bindings §3.4: DEFLATE, base64, query; the signature is over the raw query string) and
// HTTP-POST (§3.5: base64 in a form; the signature is inside the XML).
import { inflateRawSync } from 'node:zlib';
import { SamlError } from './errors.js';
import { maxInflatedBytes } from './xml.js';

export type MessageParam = 'SAMLRequest' | 'SAMLResponse';

export interface RedirectMessage {
  binding: 'redirect';
  xml: string;
  relayState?: string;
  /** The query's Signature and SigAlg with the exact octets they were computed over (saml-bindings §3.4.4.1). */
  signature?: { sigAlg: string; signature: Buffer; signedOctets: string };
}

export interface PostMessage {
  binding: 'post';
  xml: string;
  relayState?: string;
}

/** RelayState "MUST NOT exceed 80 bytes" (saml-bindings §3.4.3); some SPs send more, so a little slack. */
export const maxRelayStateBytes = 1024;

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

function relayStateOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Buffer.byteLength(value, 'utf8') > maxRelayStateBytes)
    throw new SamlError('too_large', 'RelayState is too long');
  return value;
}

/** Splits a raw query string without decoding, so the signed octets are exactly what was sent. */
function rawParams(rawQuery: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (map.has(name)) throw new SamlError('malformed', `The query has ${name} twice`);
    map.set(name, eq < 0 ? '' : part.slice(eq + 1));
  }
  return map;
}

const decode = (raw: string) => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new SamlError('malformed', 'The query is not URL-encoded correctly');
  }
};

export function decodeRedirect(rawQuery: string, param: MessageParam): RedirectMessage {
  const params = rawParams(rawQuery);
  const raw = params.get(param);
  if (raw === undefined) throw new SamlError('malformed', `${param} is missing`);
  const payload = decode(raw).replace(/\s/g, '');
  if (!base64.test(payload)) throw new SamlError('malformed', `${param} is not base64`);
  let xml: string;
  try {
    // maxOutputLength stops the inflation itself at the cap: a bomb never reaches memory (DESIGN.md §6).
    xml = inflateRawSync(Buffer.from(payload, 'base64'), { maxOutputLength: maxInflatedBytes }).toString(
      'utf8',
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new SamlError('too_large', 'The inflated message is larger than 256 KiB');
    throw new SamlError('malformed', `${param} is not DEFLATE-compressed`);
  }
  const rawRelay = params.get('RelayState');
  const relayState = relayStateOf(rawRelay === undefined ? undefined : decode(rawRelay));
  const rawSignature = params.get('Signature');
  const rawSigAlg = params.get('SigAlg');
  const message: RedirectMessage = {
    binding: 'redirect',
    xml,
    ...(relayState !== undefined && { relayState }),
  };
  if (rawSignature === undefined && rawSigAlg === undefined) return message;
  if (rawSignature === undefined || rawSigAlg === undefined)
    throw new SamlError('bad_signature', 'Signature and SigAlg go together');
  const signature = decode(rawSignature).replace(/\s/g, '');
  if (!base64.test(signature)) throw new SamlError('bad_signature', 'Signature is not base64');
  // saml-bindings §3.4.4.1: the parameters in this order, as they appeared in the query.
  const signedOctets = [
    `${param}=${raw}`,
    ...(rawRelay !== undefined ? [`RelayState=${rawRelay}`] : []),
    `SigAlg=${rawSigAlg}`,
  ].join('&');
  return {
    ...message,
    signature: { sigAlg: decode(rawSigAlg), signature: Buffer.from(signature, 'base64'), signedOctets },
  };
}

export function decodePost(form: Record<string, string>, param: MessageParam): PostMessage {
  const payload = (form[param] ?? '').replace(/\s/g, '');
  if (payload.length === 0) throw new SamlError('malformed', `${param} is missing`);
  if (!base64.test(payload)) throw new SamlError('malformed', `${param} is not base64`);
  const relayState = relayStateOf(form.RelayState);
  return {
    binding: 'post',
    xml: Buffer.from(payload, 'base64').toString('utf8'),
    ...(relayState !== undefined && { relayState }),
  };
}
