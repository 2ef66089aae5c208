// The peer interfaces of ../peers.ts as tables: one entry per remote method. A method added to a peer
// interface is a compile error here until its entry exists.
import { z } from 'zod';
import {
  idpAdminEventTypes,
  idpSessionEventTypes,
  type McPeer,
  type NsPeer,
  nsCibaRefusals,
  type SfsPeer,
} from '../peers.js';
import { optionalArg, type PeerTable, voidResult } from './table.js';

const name = z.string().min(1).max(200);
const id = z.string().min(1).max(2048);
const nonce = z.string().min(1).max(512);
const text = (max: number) => z.string().max(max);

/** JWKs as the SFS publishes them: a `kid`, other members passed through (public parts only). */
const jwk = z.looseObject({ kty: z.string().max(16), kid: z.string().max(256).optional() });

export const sfsPeerTable: PeerTable<SfsPeer> = {
  publicKeys: { args: z.tuple([]), result: z.array(jwk).max(64) },
  registerServer: {
    args: z.tuple([
      z.strictObject({
        id,
        policy: z
          .strictObject({
            maxAttempts: z.number().int().min(0).max(1000).optional(),
            lockoutSeconds: z.number().int().min(0).max(1e8).optional(),
            maxLockoutSeconds: z.number().int().min(0).max(1e8).optional(),
            blockAfterLockouts: z.number().int().min(0).max(1000).optional(),
          })
          .optional(),
      }),
    ]),
    result: voidResult,
  },
};

const browserSession = z.strictObject({
  id: text(255).optional(),
  state: text(32),
  loggedin: z.boolean(),
  userid: text(256).optional(),
  accountid: text(256).optional(),
  hsid: text(256).optional(),
  createdAt: z.number(),
  loggedInAt: z.number().optional(),
  expiresAt: z.number(),
  method: z.enum(['pin', 'bio']).optional(),
});

const userProfile = z.strictObject({
  userid: text(256),
  name: text(1024).nullable(),
  email: text(1024).nullable(),
  groups: z.array(text(256)).max(1000),
  attributes: z.record(text(256), text(8192)),
});

const adminDetail = z.union([
  z.string().max(4096),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(4096)).max(1000),
]);

/** An RFC 9396 object as NS stores it with a transaction (rar.ts bounds its depth and leaves). */
const authorizationDetails = z.record(text(100), z.unknown()).nullable();

export const nsPeerTable: PeerTable<NsPeer> = {
  findServer: {
    args: z.tuple([name]),
    result: z.strictObject({ name, displayName: text(1024) }).optional(),
  },
  browserSessionStatus: { args: z.tuple([name, nonce]), result: browserSession.optional() },
  userActive: { args: z.tuple([name, text(256)]), result: z.boolean() },
  userProfile: { args: z.tuple([name, text(256)]), result: userProfile.optional() },
  activeUser: {
    args: z.tuple([name, text(256)]),
    result: z.strictObject({ profile: userProfile.optional() }).optional(),
  },
  endBrowserSession: { args: z.tuple([name, nonce, text(256)]), result: z.boolean() },
  reportPinLockout: {
    args: z.tuple([
      z.strictObject({
        serverId: id,
        appInstanceId: text(256),
        lockout: z.enum(['locked', 'blocked']),
        retryAfterSeconds: z.number().int().min(0).optional(),
      }),
    ]),
    result: voidResult,
  },
  authenticateApiKey: {
    args: z.tuple([optionalArg(text(1024)), name]),
    result: z
      .strictObject({ keyId: text(256), roles: z.array(text(64)).max(64), mayActOnServer: z.boolean() })
      .optional(),
  },
  recordAdminEvent: {
    args: z.tuple([
      z.strictObject({
        type: z.enum(idpAdminEventTypes),
        server: name,
        actor: text(256),
        subject: z.strictObject({ kind: z.enum(['oidc_client', 'server']), id: text(1024) }),
        ip: text(64).nullable(),
        userAgent: text(1024).nullable(),
        details: z.record(text(128), adminDetail).optional(),
      }),
    ]),
    result: voidResult,
  },
  recordIdpSessionEvent: {
    args: z.tuple([
      z.strictObject({
        type: z.enum(idpSessionEventTypes),
        server: name,
        session: text(64),
        userid: text(255),
        account: text(255),
        amr: z.array(text(32)).max(10).optional(),
        cause: text(32).optional(),
        ip: text(64).nullable(),
        userAgent: text(1024).nullable(),
      }),
    ]),
    result: voidResult,
  },
  startCibaTransaction: {
    args: z.tuple([
      z.strictObject({
        server: name,
        userid: text(255),
        client: z.strictObject({ id: text(255), name: text(255) }),
        bindingMessage: text(64),
        authorizationDetails,
        locale: text(16).optional(),
        expiresInSeconds: z.number().int().min(1).max(3600),
      }),
    ]),
    result: z.union([
      z.strictObject({ ok: z.literal(true), tid: text(64), expiresAt: z.number() }),
      z.strictObject({ ok: z.literal(false), error: z.enum(nsCibaRefusals), description: text(1024) }),
    ]),
  },
  cibaTransactionStatus: {
    args: z.tuple([name, text(64)]),
    result: z
      .strictObject({
        status: z.enum(['new', 'approved', 'declined', 'expired']),
        userid: text(255),
        account: text(255).nullable(),
        method: z.enum(['pin', 'bio']).nullable(),
        answeredAt: z.number().nullable(),
        authorizationDetails,
      })
      .optional(),
  },
};

const p256 = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: text(64),
  y: text(64),
});

export const mcPeerTable: PeerTable<McPeer> = {
  recipient: {
    args: z.tuple([
      z.union([
        z.strictObject({ instanceId: text(256) }),
        z.strictObject({ instanceKeyThumbprint: text(256) }),
      ]),
    ]),
    result: z.strictObject({ instanceId: text(256), encryptionKey: p256 }).optional(),
  },
  post: {
    args: z.tuple([
      z.strictObject({
        instanceId: text(256),
        // Above the MC's own limit on purpose: MC refuses with `message_too_large`, as in-process.
        sealed: text(32 * 1024),
        collapseId: text(256).optional(),
      }),
    ]),
    result: z.strictObject({ id: text(256), expiresAt: z.number() }),
  },
};
