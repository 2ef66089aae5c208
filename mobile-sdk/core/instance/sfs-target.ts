// The SFS channel target id, derived from the SFS endpoint URL of the SDK configuration.
import { hex, utf8 } from '../../../protocol/encoding.js';

const targetIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The SDK configuration names the SFS by endpoint URL and key but carries no target id, while the SFS
 * accepts only its own id, derived from its issuer URL `{PUBLIC_URL}/sfs` (scheme dropped, every run of
 * other characters turned into `:`, e.g. `127.0.0.1:3000:sfs`). The issuer is the endpoint URL without its
 * `/mobile` segment and with ws→http, wss→https. This mirrors the server's rule; a configuration field for
 * the id would remove the coupling (docs/decisions.md, "SDK flows"). The id only selects the identity: the
 * pinned key authenticates the SFS, so a wrong id fails closed (`unknown_target`).
 */
export async function sfsTargetId(endpointUrl: string): Promise<string> {
  const url = new URL(endpointUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/mobile\/?$/, '');
  const issuer = url.href.replace(/\/+$/, '');
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
