// Test-only redirection of a provider's HTTPS traffic: every connection goes to one host:port (a local fake)
// whatever host the client asked for, while TLS still checks the certificate against the requested name and
// a given CA. Production never builds one (config refuses the override with NEXTAUTH_ENV=production).
import { Agent } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect } from 'node:tls';

export interface EndpointOverride {
  host: string;
  port: number;
  /** PEM of the CA that signed the endpoint's certificate. */
  ca?: string;
}

export function endpointAgent(endpoint: EndpointOverride): Agent {
  const agent = new Agent({ keepAlive: true, ...(endpoint.ca ? { ca: endpoint.ca } : {}) });
  // `createConnection` is the documented hook of http.Agent; @types/node does not declare it on https.Agent.
  (agent as unknown as { createConnection: (options: ConnectionOptions) => Duplex }).createConnection = (
    options,
  ) =>
    connect({
      ...options,
      host: endpoint.host,
      port: endpoint.port,
      servername: options.servername ?? options.host ?? undefined,
      ...(endpoint.ca ? { ca: endpoint.ca } : {}),
    });
  return agent;
}
