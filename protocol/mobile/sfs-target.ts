// The SFS channel target id, shared by the SFS (which accepts only its own) and the SDK (which asks for it).
import { hex, utf8 } from '../encoding.js';

/** docs/protocol.md §7.1: target ids are `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}` — no `/`, so not a URL. */
const targetIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The SFS's target id, derived from its issuer URL `{PUBLIC_URL}/sfs` so it needs no setting of its own:
 * scheme dropped, every run of other characters turned into `:` (`https://idp.example/sfs` →
 * `idp.example:sfs`, `http://127.0.0.1:3000/sfs` → `127.0.0.1:3000:sfs`); too long for a target id, it
 * keeps a readable prefix made unique by a hash of the whole issuer. Like TLS SNI it only selects the
 * identity: the pinned key authenticates the SFS, so a wrong id fails closed (`unknown_target`).
 */
export async function sfsTargetId(issuer: string): Promise<string> {
  const readable = issuer
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/[^A-Za-z0-9.-]+/g, ':')
    .replace(/^[^A-Za-z0-9]+|:+$/g, '');
  if (targetIdPattern.test(readable)) return readable;
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8(issuer)));
  return `${readable.slice(0, 111).replace(/[^A-Za-z0-9]+$/, '')}:${hex(digest).slice(0, 16)}`.replace(
    /^[^A-Za-z0-9]+/,
    '',
  );
}

/**
 * The SFS issuer behind a mobile endpoint URL of the SDK configuration: `ws(s)://host/sfs/mobile` →
 * `http(s)://host/sfs`. The configuration names the SFS by endpoint and key, not by target id.
 */
export function sfsIssuerFromEndpoint(endpointUrl: string): string {
  const url = new URL(endpointUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/mobile\/?$/, '');
  return url.href.replace(/\/+$/, '');
}
