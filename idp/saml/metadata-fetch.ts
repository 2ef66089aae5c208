// An SP's metadata fetched from its URL at registration: through the allow-listed outbound client
// (DESIGN.md §6), one request, no redirects followed, at most 256 KiB.
import {
  createOutboundClient,
  type OutboundClient,
  OutboundError,
} from '../../auth-server/common/http/outbound.js';
import { SamlError } from './errors.js';
import { maxMetadataBytes } from './sp-metadata.js';

/** Failures of the fetch itself (not of the document): the API answers 502. */
export class MetadataFetchError extends Error {
  override name = 'MetadataFetchError';
}

export function metadataOutboundClient(allow: readonly string[]): OutboundClient {
  return createOutboundClient({ allow, maxResponseBytes: maxMetadataBytes, timeoutMs: 10_000 });
}

export async function fetchSpMetadata(outbound: OutboundClient, url: string): Promise<string> {
  let res: Awaited<ReturnType<OutboundClient['request']>>;
  try {
    res = await outbound.request(url, {
      headers: { accept: 'application/samlmetadata+xml, application/xml' },
    });
  } catch (err) {
    if (err instanceof OutboundError && err.code === 'response_too_large')
      throw new SamlError('too_large', 'The metadata is larger than 256 KiB');
    if (err instanceof OutboundError)
      throw new MetadataFetchError(`The metadata URL cannot be fetched (${err.code})`);
    throw err;
  }
  if (res.status !== 200) throw new MetadataFetchError(`The metadata URL answered ${res.status}`);
  return res.body.toString('utf8');
}
