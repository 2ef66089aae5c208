// The providers of this process, one per virtual server, created on first use and cached. A cached provider
// is re-checked every `refreshMs`: rebuilt when the server's signing keys changed (`nextauth oidc
// rotate-keys` on any instance), dropped when NS no longer knows the server. Everything else a provider
// holds lives in the database (or the KV), so rebuilding loses nothing and instances need no coordination.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { type Ciba, createCiba } from './ciba.js';
import { type ClientRepository, createClientRepository } from './clients.js';
import { loadOidcProvider } from './internals.js';
import { createProvider, type OidcStorage, type ProviderDeps, pairwiseSubject } from './provider.js';
import { createSigningKeyStore, type SigningKeyStore } from './signing-keys.js';

export interface OidcEntry {
  server: string;
  provider: Provider;
  /** The provider's node handler (its own koa context and cookie keys). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** OIDC CIBA of this server, when the registry has a KV for it. */
  ciba?: Ciba;
  /** The `sub` a client sees for a userid: the userid, or its pairwise form for a pairwise client. */
  subjectFor(client: { subjectType?: string; sectorIdentifier?: string }, userid: string): string;
}

export interface OidcRegistryDeps {
  publicUrl: string;
  secretKey: string;
  trustProxy: boolean;
  resources: ProviderDeps['resources'];
  knex: Knex;
  /** Where tokens, sessions and grants live (default: the IdP database). */
  storage?: OidcStorage;
  clock: Clock;
  random: Random;
  logger: Logger;
  ns: NsPeer;
  /** oidc-provider's outbound requests (back-channel logout). */
  fetch: ProviderDeps['fetch'];
  /** How often a cached provider re-checks its keys and server (default 30 s). */
  refreshMs?: number;
  interactionPath(server: string, uid: string): string;
  renderError: ProviderDeps['renderError'];
  idpSessions?: ProviderDeps['idpSessions'];
  /** The shared KV: with it, OIDC CIBA is on (its links, rate limit and the answers NS announces). */
  kv?: Kv;
}

export interface OidcRegistry {
  /** The provider of that virtual server, or undefined when NS has no such server. */
  get(server: string): Promise<OidcEntry | undefined>;
  readonly clients: ClientRepository;
  readonly keys: SigningKeyStore;
}

interface Cached {
  entry: OidcEntry;
  version: string;
  checkedAt: number;
}

export function createOidcRegistry(deps: OidcRegistryDeps): OidcRegistry {
  const refreshMs = deps.refreshMs ?? 30_000;
  const clients = createClientRepository({
    knex: deps.knex,
    secretKey: deps.secretKey,
    clock: deps.clock,
    random: deps.random,
  });
  const keys = createSigningKeyStore({ knex: deps.knex, secretKey: deps.secretKey, clock: deps.clock });
  const cache = new Map<string, Cached>();
  // One build or re-check per server at a time, however many requests arrive together.
  const pending = new Map<string, Promise<OidcEntry | undefined>>();

  const build = async (server: string): Promise<Cached> => {
    const oidc = await loadOidcProvider(deps.logger);
    await keys.ensure(server);
    const keySet = await keys.load(server);
    const ciba = deps.kv
      ? createCiba({ oidc, server, ns: deps.ns, kv: deps.kv, clock: deps.clock, logger: deps.logger })
      : undefined;
    const provider = createProvider({
      oidc,
      server,
      publicUrl: deps.publicUrl,
      knex: deps.knex,
      storage: deps.storage ?? { kind: 'sql' },
      clock: deps.clock,
      clients,
      keys: keySet,
      secretKey: deps.secretKey,
      ns: deps.ns,
      fetch: deps.fetch,
      trustProxy: deps.trustProxy,
      resources: deps.resources,
      logger: deps.logger,
      interactionPath: (uid) => deps.interactionPath(server, uid),
      renderError: deps.renderError,
      ...(deps.idpSessions ? { idpSessions: deps.idpSessions } : {}),
      ...(ciba ? { ciba } : {}),
    });
    const handler = provider.callback();
    const pairwise = pairwiseSubject(deps.secretKey, server);
    const entry: OidcEntry = {
      server,
      provider,
      handle: async (req, res) => {
        await handler(req, res);
      },
      ...(ciba ? { ciba } : {}),
      subjectFor: (client, userid) =>
        client.subjectType === 'pairwise' ? pairwise(String(client.sectorIdentifier), userid) : userid,
    };
    deps.logger.debug({ server, keys: keySet.version }, 'oidc provider ready');
    return { entry, version: keySet.version, checkedAt: deps.clock.now() };
  };

  const resolve = async (server: string): Promise<OidcEntry | undefined> => {
    const cached = cache.get(server);
    if (!(await deps.ns.findServer(server))) {
      cache.delete(server);
      return undefined;
    }
    if (cached && (await keys.version(server)) === cached.version) {
      cached.checkedAt = deps.clock.now();
      return cached.entry;
    }
    const fresh = await build(server);
    cache.set(server, fresh);
    return fresh.entry;
  };

  return {
    clients,
    keys,
    async get(server) {
      const cached = cache.get(server);
      if (cached && deps.clock.now() - cached.checkedAt < refreshMs) return cached.entry;
      let running = pending.get(server);
      if (!running) {
        running = resolve(server).finally(() => pending.delete(server));
        pending.set(server, running);
      }
      return running;
    },
  };
}
