// The demo relying party's registration: a first-party confidential client `demo` on server `default`,
// ensured at every embedded start-up through the client registry, so a changed public URL is picked up. Its
// secret is generated once and kept (sealed) in the registry; it is never logged.
import { ConflictError } from '../../auth-server/common/db/errors.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { ClientRepository } from '../oidc/clients.js';

export const demoServer = 'default';
export const demoClientId = 'demo';
export const demoPath = '/demo';

export interface DemoClient {
  clientId: string;
  secret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
}

const sameList = (a: unknown, b: string[]) =>
  Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);

/** Registers the demo client, or keeps the one registered by an earlier start when it still fits. */
export async function ensureDemoClient(
  clients: ClientRepository,
  publicUrl: string,
  logger: Logger,
): Promise<DemoClient> {
  const base = publicUrl.replace(/\/+$/, '');
  const redirectUri = `${base}${demoPath}/callback`;
  const postLogoutRedirectUri = `${base}${demoPath}`;
  const wanted = (secret: string): DemoClient => ({
    clientId: demoClientId,
    secret,
    redirectUri,
    postLogoutRedirectUri,
  });
  const fits = (
    m: Record<string, unknown> | undefined,
  ): m is Record<string, unknown> & { client_secret: string } =>
    m !== undefined &&
    typeof m.client_secret === 'string' &&
    m.token_endpoint_auth_method === 'client_secret_basic' &&
    sameList(m.redirect_uris, [redirectUri]) &&
    sameList(m.post_logout_redirect_uris, [postLogoutRedirectUri]);

  // Two attempts: another instance on the same database may register it between our read and our insert.
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = (await clients.providerMetadata(demoServer, demoClientId)) as
      | Record<string, unknown>
      | undefined;
    if (fits(existing)) return wanted(existing.client_secret);
    if (existing !== undefined) {
      // Registered for another public URL (or changed by hand): the demo owns this id, so it is replaced.
      logger.info({ clientId: demoClientId }, 'demo client re-registered for the current public URL');
      await clients.remove(demoServer, demoClientId);
    }
    try {
      const { secret } = await clients.add({
        server: demoServer,
        clientId: demoClientId,
        redirectUris: [redirectUri],
        postLogoutRedirectUris: [postLogoutRedirectUri],
        name: 'nextAuth demo',
      });
      if (secret === undefined) throw new Error('the demo client was registered without a secret');
      return wanted(secret);
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt > 0) throw err;
    }
  }
  throw new Error('the demo client could not be registered');
}
