// An HTTP client that implements a peer interface from its table: each method POSTs its arguments to
// `{baseUrl}/{svc}/internal/v1/{method}` with the service key, validates the answer by the method's result
// schema, and re-throws problem JSON as a PeerError with the same `code`. Node's fetch keeps connections
// alive between calls.
import { PeerError } from './errors.js';
import { internalPath, type PeerTable, peerLimits, type RemoteKeys, serviceKeyHeader } from './table.js';

export interface PeerClientOptions<P> {
  service: string;
  table: PeerTable<P>;
  /** Base URL of the service's listener (no trailing path), e.g. `http://ns.internal:3000`. */
  baseUrl: string;
  serviceKey: string;
  /** Per call; default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The remote methods of `P` as HTTP calls; synchronous members (if any) the caller adds itself. */
export type PeerClient<P> = Pick<P, RemoteKeys<P>>;

export function createPeerClient<P>(options: PeerClientOptions<P>): PeerClient<P> {
  const { service, table } = options;
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? fetch;
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, spec] of Object.entries(table) as [string, PeerTable<P>[RemoteKeys<P>]][]) {
    const label = `${service}.${name}`;
    client[name] = async (...args: unknown[]) => {
      // JSON arrays have no `undefined`: trailing and middle ones travel as null (see optionalArg).
      const body = JSON.stringify(args.map((a) => (a === undefined ? null : a)));
      let res: Response;
      try {
        res = await doFetch(`${base}${internalPath(service, name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [serviceKeyHeader]: options.serviceKey },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new PeerError(
          'unavailable',
          `${label}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable'}`,
        );
      }
      const text = await res.text();
      if (text.length > peerLimits.responseBytes) {
        throw new PeerError('bad_response', `${label}: answer too large`, res.status);
      }
      let data: unknown;
      try {
        data = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new PeerError('bad_response', `${label}: answer is not JSON (${res.status})`, res.status);
      }
      if (!res.ok) {
        const problem = data as { code?: unknown; detail?: unknown };
        const code = typeof problem.code === 'string' ? problem.code : 'bad_response';
        const detail = typeof problem.detail === 'string' ? problem.detail : `status ${res.status}`;
        throw new PeerError(code, `${label}: ${detail}`, res.status);
      }
      const parsed = spec.result.safeParse((data as { result?: unknown }).result);
      if (!parsed.success) throw new PeerError('bad_response', `${label}: unexpected answer`, res.status);
      return parsed.data;
    };
  }
  return client as PeerClient<P>;
}
