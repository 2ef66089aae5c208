// Browser endpoints of the "my devices" page and the public recovery page (issue #7). The devices page acts
// as the user of the browser's logged-in NS session (cookie); the recovery page as whoever holds a code.
// Every write takes a JSON body (a cross-site form cannot send one without a CORS preflight: no CSRF).
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { visualHash } from '../../../protocol/visual-hash.js';
import { HttpProblem, type ProblemCode, type ProblemDetails, problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import type { Account } from '../accounts/model.js';
import { accountIdSchema, useridSchema } from '../accounts/model.js';
import type { EnrolLink } from '../accounts/service.js';
import type { AuditContext } from '../audit/model.js';
import { createDeviceService, type DeviceOwner, deviceNameSchema } from '../devices/service.js';
import { maxCodeInputLength } from '../recovery/codes.js';
import { RecoveryError } from '../recovery/service.js';
import { serverNameSchema, type VirtualServer } from '../servers/model.js';
import { effectiveState, type Session } from '../sessions/model.js';
import { sha256Hex } from '../sessions/secrets.js';
import type { NsState } from './auth.js';
import type { NsApiDeps } from './context.js';
import { serializeSessionCookie, sessionCookieName } from './cookies.js';
import { noStore } from './no-store.js';
import { mapDomainErrors } from './problems.js';
import { qrImageDataUrl } from './qr-image.js';
import { createRateLimiter } from './rate-limit.js';

/**
 * Removing a phone, enrolling another and making recovery codes need a login at most this old: a browser
 * left logged in (up to 8 hours) must not let a passer-by remove the owner's phone or add their own.
 */
export const freshLoginMs = 15 * 60_000;

export type DeviceProblemReason =
  | 'reauthentication_required'
  | 'recovery_codes_off'
  | 'recovery_code_invalid'
  | 'recovery_locked';

/** A problem with a stable `reason` the pages branch on. */
export class DeviceProblem extends HttpProblem {
  constructor(
    status: number,
    code: ProblemCode,
    readonly reason: DeviceProblemReason,
    detail: string,
    headers: Record<string, string> = {},
  ) {
    super(status, code, detail, undefined, headers);
  }
  override toJSON(): ProblemDetails & { reason: DeviceProblemReason } {
    return { ...super.toJSON(), reason: this.reason };
  }
}

const emptyBody = z.strictObject({});
const renameBody = z.strictObject({ name: deviceNameSchema });
const recoverBody = z.strictObject({
  userid: useridSchema,
  code: z.string().min(1).max(maxCodeInputLength),
});

export interface DeviceWire {
  id: string;
  name: string | null;
  createdAt: string;
  lastLoginAt: string | null;
  blocked: boolean;
  /** The account this browser logged in with. */
  current: boolean;
}

function toDeviceWire(account: Account, currentId: string): DeviceWire {
  return {
    id: account.id,
    name: account.description,
    createdAt: account.createdAt.toISOString(),
    lastLoginAt: account.lastLoginAt?.toISOString() ?? null,
    blocked: account.blockedAt !== null,
    current: account.id === currentId,
  };
}

async function enrolLinkWire(link: EnrolLink) {
  return {
    uri: link.uri,
    expiresAt: link.expiresAt.toISOString(),
    keyFingerprint: link.keyFingerprint,
    visualHash: visualHash(link.keyFingerprint),
    img: await qrImageDataUrl(link.uri, 'svg'),
  };
}

/** RecoveryError as problem JSON; `offAs` is how a disabled policy reads on this endpoint. */
function recoveryProblem(err: RecoveryError, offAs: 403 | 404): HttpProblem {
  switch (err.code) {
    case 'recovery_codes_off':
      return offAs === 404
        ? problems.notFound('No such page')
        : new DeviceProblem(403, 'forbidden', err.code, err.message);
    case 'recovery_code_invalid':
      return new DeviceProblem(400, 'bad_request', err.code, err.message);
    case 'recovery_locked':
      return new DeviceProblem(429, 'rate_limited', err.code, err.message, {
        'Retry-After': String(err.retryAfterSeconds ?? 900),
      });
  }
}

export function registerDeviceRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { sessions, servers, clock, recovery } = deps;
  const secure = deps.publicUrl.startsWith('https:');
  const devices = createDeviceService({ accountAdmin: deps.accountAdmin, accounts: deps.accounts });
  const limits = { ...defaultDeviceLimits, ...deps.limits?.devices };
  const hourly = (name: string, limit: number) =>
    createRateLimiter(deps.kv, clock, { name, limit, windowMs: 3_600_000 });
  const enrolLimiter = hourly('ns:device-enrol', limits.enrolLinksPerUserHour);
  const codesLimiter = hourly('ns:recovery-generate', limits.recoveryCodeSetsPerUserHour);
  const recoverUserLimiter = hourly('ns:recover-user', limits.recoverPerUserHour);
  const recoverIpLimiter = createRateLimiter(deps.kv, clock, {
    name: 'ns:recover-ip',
    limit: limits.recoverPerIpMinute,
    windowMs: 60_000,
  });
  const writeLimiter = createRateLimiter(deps.kv, clock, {
    name: 'ns:device-write',
    limit: limits.writesPerUserMinute,
    windowMs: 60_000,
  });
  const errors = mapDomainErrors();

  const server = async (ctx: Context): Promise<VirtualServer> => {
    const name = serverNameSchema.safeParse(ctx.params.server);
    const found = name.success ? await servers.findByName(name.data) : undefined;
    if (!found) throw problems.notFound('No such virtual server');
    return found;
  };

  const origin = (ctx: Context) => ({ ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });

  /** The logged-in session of this browser at this server, or 401. */
  const loggedIn = async (
    ctx: Context,
    target: VirtualServer,
  ): Promise<{ session: Session; owner: DeviceOwner }> => {
    const nonce = ctx.cookies.get(sessionCookieName(target.name, secure));
    const session = nonce ? await sessions.findByNonce(nonce) : undefined;
    if (
      !session ||
      session.serverId !== target.id ||
      effectiveState(session, clock.now()) !== 'loggedin' ||
      session.userid === null ||
      session.accountId === null
    )
      throw problems.unauthorized('Log in on this server first');
    const by: AuditContext = { actor: { kind: 'user', id: session.userid }, ...origin(ctx) };
    return { session, owner: { userid: session.userid, accountId: session.accountId, by } };
  };

  const requireFresh = (session: Session) => {
    const at = session.loggedInAt?.getTime() ?? 0;
    if (clock.now() - at > freshLoginMs)
      throw new DeviceProblem(
        403,
        'forbidden',
        'reauthentication_required',
        'Log in again (with your phone) to remove or add a device',
      );
  };

  const userKey = (target: VirtualServer, userid: string) => `${target.id}:${sha256Hex(userid)}`;

  const deviceId = (ctx: Context): string => {
    const parsed = accountIdSchema.safeParse(ctx.params.id);
    if (!parsed.success) throw problems.notFound('No such device');
    return parsed.data;
  };

  const mapRecovery =
    (offAs: 403 | 404): Middleware =>
    async (_ctx, next) => {
      try {
        await next();
      } catch (err) {
        if (err instanceof RecoveryError) throw recoveryProblem(err, offAs);
        throw err;
      }
    };

  router.get('/servers/:server/devices', noStore, errors, async (ctx) => {
    const target = await server(ctx);
    const { session, owner } = await loggedIn(ctx, target);
    const accounts = await devices.list(target, owner);
    const loggedInAt = session.loggedInAt ?? new Date(0);
    ctx.body = {
      server: target.name,
      userid: owner.userid,
      loggedInAt: loggedInAt.toISOString(),
      freshUntil: new Date(loggedInAt.getTime() + freshLoginMs).toISOString(),
      devices: accounts.map((a) => toDeviceWire(a, owner.accountId)),
      recoveryCodes: recovery
        ? await recovery.status(target, owner.userid)
        : { enabled: false, remaining: 0 },
    };
  });

  router.patch('/servers/:server/devices/:id', noStore, errors, async (ctx) => {
    const target = await server(ctx);
    const { owner } = await loggedIn(ctx, target);
    const id = deviceId(ctx);
    const body = await readJson(ctx, renameBody);
    await writeLimiter.hit(userKey(target, owner.userid));
    const renamed = await devices.rename(target, owner, id, body.name);
    if (!renamed) throw problems.notFound('No such device');
    ctx.body = toDeviceWire(renamed, owner.accountId);
  });

  router.delete('/servers/:server/devices/:id', noStore, errors, async (ctx) => {
    const target = await server(ctx);
    const { session, owner } = await loggedIn(ctx, target);
    const id = deviceId(ctx);
    await readJson(ctx, emptyBody);
    requireFresh(session);
    await writeLimiter.hit(userKey(target, owner.userid));
    const removed = await devices.remove(target, owner, id);
    if (!removed) throw problems.notFound('No such device');
    const loggedOut = removed.id === owner.accountId;
    // This browser logged in with the removed phone: its session ended with it, so the cookie goes too.
    if (loggedOut)
      ctx.append(
        'Set-Cookie',
        serializeSessionCookie(sessionCookieName(target.name, secure), '', { secure, maxAgeSeconds: 0 }),
      );
    ctx.body = { removed: removed.id, loggedOut };
  });

  router.post('/servers/:server/devices/enrol-link', noStore, errors, async (ctx) => {
    const target = await server(ctx);
    const { session, owner } = await loggedIn(ctx, target);
    await readJson(ctx, emptyBody);
    requireFresh(session);
    await enrolLimiter.hit(userKey(target, owner.userid));
    ctx.status = 201;
    ctx.body = await enrolLinkWire(await devices.enrolLink(target, owner));
  });

  router.post('/servers/:server/devices/recovery-codes', noStore, errors, mapRecovery(403), async (ctx) => {
    const target = await server(ctx);
    const { session, owner } = await loggedIn(ctx, target);
    await readJson(ctx, emptyBody);
    if (!recovery || !target.recoveryCodes)
      throw recoveryProblem(
        new RecoveryError('recovery_codes_off', 'This server does not use recovery codes'),
        403,
      );
    requireFresh(session);
    await codesLimiter.hit(userKey(target, owner.userid));
    ctx.status = 201;
    ctx.body = { codes: await recovery.generate(target, owner.userid, owner.by) };
  });

  // Public: whoever holds a code of the userid gets an enrol link for it. Limits per address and per userid,
  // and wrong codes lock the userid (recovery/service.ts). A server without the policy has no such page.
  router.post('/servers/:server/recovery', noStore, errors, mapRecovery(404), async (ctx) => {
    const target = await server(ctx);
    if (!recovery || !target.recoveryCodes) throw problems.notFound('No such page');
    await recoverIpLimiter.hit(ctx.ip);
    const body = await readJson(ctx, recoverBody);
    await recoverUserLimiter.hit(userKey(target, body.userid));
    const by: AuditContext = { actor: { kind: 'user', id: body.userid }, ...origin(ctx) };
    const link = await recovery.redeem(target, body.userid, body.code, by);
    ctx.status = 201;
    ctx.body = await enrolLinkWire(link);
  });
}

export const defaultDeviceLimits = {
  /** "Add another device" links per user and hour. */
  enrolLinksPerUserHour: 5,
  /** New recovery-code sets per user and hour. */
  recoveryCodeSetsPerUserHour: 5,
  /** Recovery attempts per client address and minute. */
  recoverPerIpMinute: 10,
  /** Recovery attempts per userid and hour (wrong codes also lock the userid: recovery/service.ts). */
  recoverPerUserHour: 10,
  /** Renames and removals per user and minute. */
  writesPerUserMinute: 30,
};
