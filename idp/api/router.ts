// The IdP management API (`{PUBLIC_URL}/idp/api/v1`): OIDC clients and signing keys of each virtual server,
// with the root key or a server's API key (DESIGN.md §5). Thin steps; the rules live in idp/oidc/clients.ts
// and the audit in service.ts.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
import { HttpProblem, problems } from '../../auth-server/common/errors.js';
import { readJson } from '../../auth-server/common/http/body.js';
import { type OutboundClient, OutboundError } from '../../auth-server/common/http/outbound.js';
import { readQuery } from '../../auth-server/common/http/query.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { buildOpenApiDocument } from '../../auth-server/ns/api/openapi/document.js';
import { koaPath } from '../../auth-server/ns/api/openapi/operation.js';
import { mapDomainErrors } from '../../auth-server/ns/api/problems.js';
import type { ClientRepository, OidcClient } from '../oidc/clients.js';
import { issuerFor } from '../oidc/provider.js';
import type { SigningKeyInfo, SigningKeyStore } from '../oidc/signing-keys.js';
import { SamlError } from '../saml/errors.js';
import { type KeyUse, keyUses, type SamlKeyInfo, type SamlKeyStore } from '../saml/keys.js';
import { fetchSpMetadata, MetadataFetchError } from '../saml/metadata-fetch.js';
import { parseSpMetadata } from '../saml/sp-metadata.js';
import type { SamlSp, SpRepository } from '../saml/sps.js';
import { samlUrls } from '../saml/sso.js';
import { type IdpApiState, keyOf, requireServerKey } from './auth.js';
import {
  clientOperations as clientOps,
  type createdClientSchema,
  idpAdminRoles,
  idpApiComponents,
  idpApiOperations,
  idpOpenApiOperation,
  keyOperations as keyOps,
  type oidcClientSchema,
  samlKeyOperations as samlKeyOps,
  type samlKeySchema,
  type samlSpSchema,
  type signingKeySchema,
  spOperations as spOps,
} from './operations.js';
import { type AdminActor, createIdpAdminService } from './service.js';

export interface IdpApiDeps {
  publicUrl: string;
  ns: NsPeer;
  clients: ClientRepository;
  keys: SigningKeyStore;
  /** The SAML front door's SPs (absent when it is off: its operations answer 404). */
  sps?: SpRepository;
  /** The SAML front door's key ring (absent when it is off). */
  samlKeys?: SamlKeyStore;
  /** Fetches SP metadata URLs (allow-listed, size-capped). */
  metadataFetch?: OutboundClient;
  /**
   * The outbound client the providers call out with: a CIBA notification endpoint it would refuse is refused
   * at registration. Without it no client may register one.
   */
  outbound?: OutboundClient;
}

/** A CIBA ping endpoint must be one the outbound client reaches: https (unless allow-listed), allowed address. */
async function checkNotifyEndpoint(outbound: OutboundClient | undefined, url: string | null | undefined) {
  if (url === undefined || url === null) return;
  if (!outbound) throw problems.badRequest('CIBA notification endpoints are not enabled');
  try {
    await outbound.checkUrl(url, { requireHttps: true });
  } catch (err) {
    if (err instanceof OutboundError)
      throw problems.badRequest(`cibaNotify is not an allowed outbound target: ${err.message}`);
    throw err;
  }
}

type Ctx = Context & { state: IdpApiState; params: Record<string, string> };

export function toClientWire(c: OidcClient, publicUrl: string): z.output<typeof oidcClientSchema> {
  return {
    server: c.server,
    clientId: c.clientId,
    issuer: issuerFor(publicUrl, c.server),
    public: c.public,
    tokenEndpointAuthMethod: c.public ? 'none' : 'client_secret_basic',
    redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris,
    backchannelLogoutUri: c.backchannelLogoutUri,
    grantTypes: c.grantTypes,
    name: c.name,
    thirdParty: c.thirdParty,
    subjectType: c.subjectType,
    requirePar: c.requirePar,
    ciba: c.ciba,
    cibaNotify: c.cibaNotify,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function toSpWire(sp: SamlSp, publicUrl: string): z.output<typeof samlSpSchema> {
  return {
    server: sp.server,
    entityId: sp.entityId,
    idpEntityId: samlUrls(publicUrl).entityId(sp.server),
    acs: sp.metadata.acs.map((a) => a.location),
    singleLogout: sp.metadata.slo.map((e) => e.location),
    authnRequestsSigned: sp.metadata.authnRequestsSigned,
    sign: sp.settings.sign,
    encrypt: sp.settings.encrypt,
    attributes: sp.settings.attributes,
    nameIdFormat: sp.settings.nameIdFormat ?? null,
    createdAt: sp.createdAt.toISOString(),
    updatedAt: sp.updatedAt.toISOString(),
  };
}

/** Metadata that cannot be used is the caller's input error; a URL that cannot be fetched is a 502. */
async function spProblems(_ctx: Ctx, next: () => Promise<unknown>) {
  try {
    await next();
  } catch (err) {
    if (err instanceof SamlError)
      throw new HttpProblem(err.status, err.status === 413 ? 'body_too_large' : 'invalid_body', err.message, [
        { path: 'metadata', message: err.message },
      ]);
    if (err instanceof MetadataFetchError) throw new HttpProblem(502, 'unavailable', err.message);
    throw err;
  }
}

function toKeyWire(k: SigningKeyInfo): z.output<typeof signingKeySchema> {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    createdAt: k.createdAt.toISOString(),
    activatedAt: k.activatedAt?.toISOString() ?? null,
    retiredAt: k.retiredAt?.toISOString() ?? null,
  };
}

function toSamlKeyWire(k: SamlKeyInfo): z.output<typeof samlKeySchema> {
  return {
    kid: k.kid,
    use: k.use,
    state: k.state,
    certificate: k.certificate,
    createdAt: k.createdAt.toISOString(),
    activatedAt: k.activatedAt?.toISOString() ?? null,
    retiredAt: k.retiredAt?.toISOString() ?? null,
    notAfter: k.notAfter.toISOString(),
  };
}

/** Path parameters through the operation's schema; a malformed one names nothing that exists. */
function paramsOf<S extends z.ZodObject>(ctx: Ctx, schema: S): z.output<S> {
  const parsed = schema.safeParse(ctx.params);
  if (!parsed.success) throw problems.notFound('No such OIDC client');
  return parsed.data;
}

function actorOf(ctx: Ctx): AdminActor {
  return { keyId: keyOf(ctx.state).keyId, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}

export function createIdpApiRouter(deps: IdpApiDeps): Router<IdpApiState> {
  const { clients, keys, publicUrl } = deps;
  const admin = createIdpAdminService(deps);
  const router = new Router<IdpApiState>({ prefix: '/idp' });
  const steps = [
    async (ctx: Ctx, next: () => Promise<unknown>) => {
      // Answers name clients, keys and (once) a secret: never cached by a browser or proxy.
      ctx.set('Cache-Control', 'no-store');
      await next();
    },
    requireServerKey(deps.ns, idpAdminRoles),
    mapDomainErrors(),
  ] as const;

  router.get(koaPath(clientOps.list), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, clientOps.list.params);
    const query = readQuery(ctx, clientOps.list.query);
    const page = await clients.page(server, {
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.marker !== undefined ? { marker: query.marker } : {}),
    });
    ctx.body = { clients: page.clients.map((c) => toClientWire(c, publicUrl)), next_marker: page.nextMarker };
  });

  router.post(koaPath(clientOps.create), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, clientOps.create.params);
    const body = await readJson(ctx, clientOps.create.body);
    await checkNotifyEndpoint(deps.outbound, body.cibaNotify);
    const { client, secret } = await admin.createClient(server, body, actorOf(ctx));
    ctx.status = 201;
    ctx.body = {
      ...toClientWire(client, publicUrl),
      ...(secret !== undefined ? { secret } : {}),
    } satisfies z.output<typeof createdClientSchema>;
  });

  router.get(koaPath(clientOps.get), ...steps, async (ctx) => {
    const { server, clientId } = paramsOf(ctx, clientOps.get.params);
    const client = await clients.get(server, clientId);
    if (!client) throw problems.notFound('No such OIDC client');
    ctx.body = toClientWire(client, publicUrl);
  });

  router.patch(koaPath(clientOps.update), ...steps, async (ctx) => {
    const { server, clientId } = paramsOf(ctx, clientOps.update.params);
    const patch = await readJson(ctx, clientOps.update.body);
    await checkNotifyEndpoint(deps.outbound, patch.cibaNotify);
    const client = await admin.updateClient(server, clientId, patch, actorOf(ctx));
    if (!client) throw problems.notFound('No such OIDC client');
    ctx.body = toClientWire(client, publicUrl);
  });

  router.delete(koaPath(clientOps.delete), ...steps, async (ctx) => {
    const { server, clientId } = paramsOf(ctx, clientOps.delete.params);
    if (!(await admin.deleteClient(server, clientId, actorOf(ctx))))
      throw problems.notFound('No such OIDC client');
    ctx.status = 204;
  });

  router.get(koaPath(keyOps.list), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, keyOps.list.params);
    // The keys the provider would publish, also before its first request.
    await keys.ensure(server);
    ctx.body = { keys: (await keys.list(server)).map(toKeyWire) };
  });

  router.post(koaPath(keyOps.rotate), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, keyOps.rotate.params);
    ctx.body = { keys: (await admin.rotateKeys(server, actorOf(ctx))).map(toKeyWire) };
  });

  const spsOf = (): SpRepository => {
    if (!deps.sps) throw problems.notFound('The SAML front door is off');
    return deps.sps;
  };
  const spParamsOf = (ctx: Ctx) => {
    const parsed = spOps.get.params.safeParse(ctx.params);
    if (!parsed.success) throw problems.notFound('No such SAML SP');
    return parsed.data;
  };

  router.get(koaPath(spOps.list), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, spOps.list.params);
    ctx.body = { sps: (await spsOf().list(server)).map((sp) => toSpWire(sp, publicUrl)) };
  });

  router.post(koaPath(spOps.create), ...steps, spProblems, async (ctx) => {
    const { server } = paramsOf(ctx, spOps.create.params);
    spsOf();
    // Inline metadata up to 256 KiB, JSON-escaped.
    const body = await readJson(ctx, spOps.create.body, 512 * 1024);
    let metadata = body.metadata;
    if (metadata === undefined) {
      if (!deps.metadataFetch) throw problems.notFound('Metadata URLs are not enabled');
      metadata = await fetchSpMetadata(deps.metadataFetch, body.metadataUrl ?? '');
    }
    if (body.encrypt && parseSpMetadata(metadata).encryptionCertificates.length === 0)
      throw new HttpProblem(400, 'invalid_body', 'encrypt needs an encryption certificate in the metadata', [
        { path: 'encrypt', message: 'no encryption certificate in the metadata' },
      ]);
    const sp = await admin.createSp(
      server,
      metadata,
      {
        sign: body.sign,
        encrypt: body.encrypt,
        attributes: body.attributes,
        ...(body.nameIdFormat !== undefined && { nameIdFormat: body.nameIdFormat }),
      },
      actorOf(ctx),
    );
    ctx.status = 201;
    ctx.body = toSpWire(sp, publicUrl);
  });

  router.get(koaPath(spOps.get), ...steps, async (ctx) => {
    const { server, entityId } = spParamsOf(ctx);
    const sp = await spsOf().get(server, entityId);
    if (!sp) throw problems.notFound('No such SAML SP');
    ctx.body = toSpWire(sp, publicUrl);
  });

  router.patch(koaPath(spOps.update), ...steps, spProblems, async (ctx) => {
    const { server, entityId } = spParamsOf(ctx);
    spsOf();
    const body = await readJson(ctx, spOps.update.body, 512 * 1024);
    let metadata = body.metadata;
    if (body.metadataUrl !== undefined) {
      if (!deps.metadataFetch) throw problems.notFound('Metadata URLs are not enabled');
      // Unknown SP first: no fetch on behalf of a path that names nothing.
      if (!(await spsOf().get(server, entityId))) throw problems.notFound('No such SAML SP');
      metadata = await fetchSpMetadata(deps.metadataFetch, body.metadataUrl);
    }
    const { metadata: _m, metadataUrl: _u, ...settings } = body;
    const sp = await admin.updateSp(
      server,
      entityId,
      { ...(metadata !== undefined && { metadataXml: metadata }), settings },
      actorOf(ctx),
    );
    if (!sp) throw problems.notFound('No such SAML SP');
    ctx.body = toSpWire(sp, publicUrl);
  });

  const samlKeysOf = (): SamlKeyStore => {
    if (!deps.samlKeys) throw problems.notFound('The SAML front door is off');
    return deps.samlKeys;
  };

  router.get(koaPath(samlKeyOps.list), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, samlKeyOps.list.params);
    ctx.body = { keys: (await samlKeysOf().list(server)).map(toSamlKeyWire) };
  });

  router.post(koaPath(samlKeyOps.rotate), ...steps, async (ctx) => {
    const { server } = paramsOf(ctx, samlKeyOps.rotate.params);
    samlKeysOf();
    const { use } = await readJson(ctx, samlKeyOps.rotate.body);
    const uses: readonly KeyUse[] = use === 'both' ? keyUses : [use];
    ctx.body = { keys: (await admin.rotateSamlKeys(server, uses, actorOf(ctx))).map(toSamlKeyWire) };
  });

  router.delete(koaPath(spOps.delete), ...steps, async (ctx) => {
    const { server, entityId } = spParamsOf(ctx);
    spsOf();
    if (!(await admin.deleteSp(server, entityId, actorOf(ctx)))) throw problems.notFound('No such SAML SP');
    ctx.status = 204;
  });

  let document: string | undefined;
  router.get(koaPath(idpOpenApiOperation), async (ctx) => {
    document ??= JSON.stringify(
      buildOpenApiDocument({
        publicUrl,
        serverPath: '/idp',
        version: '1',
        impersonation: false,
        info: {
          title: 'nextAuth IdP management API',
          description:
            "OIDC clients and signing keys of each virtual server's OpenID Provider, and the SAML service providers of its SAML IdP. Authenticated with `X-apikey`: the root key, or an API key of that virtual server with the role `servers` (or `root`). Errors are RFC 9457 problem JSON; request bodies are JSON of at most 64 KiB. Every change is recorded in the NS audit log.",
        },
        operations: idpApiOperations,
        components: idpApiComponents,
      }),
    );
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = document;
  });

  return router;
}
