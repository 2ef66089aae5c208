// NS REST v2 audit log: `GET /ns/api/v2/audit` (filters + keyset paging) and `GET /ns/api/v2/audit/export`
// (the same filters as a JSON-lines stream). Root keys read every server, a server key only its own.
import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { HttpProblem, problems } from '../../common/errors.js';
import { readQuery } from '../../common/http/query.js';
import { AuditError } from '../audit/errors.js';
import { maxMarkerLength } from '../audit/marker.js';
import {
  type AuditEvent,
  type AuditEventType,
  type AuditFilter,
  actorKinds,
  auditEventTypes,
  auditEventWireSchema,
  partyIdSchema,
  subjectKinds,
  toWire,
} from '../audit/model.js';
import { maxAuditPageSize } from '../audit/service.js';
import { serverNameSchema } from '../servers/model.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';

/** `kind` or `kind:id` (the id is everything after the first colon: userids may contain colons). */
function partyFilterSchema<const K extends readonly string[]>(kinds: K) {
  return z
    .string()
    .max(300)
    .transform((value, ctx) => {
      const colon = value.indexOf(':');
      const kind = colon < 0 ? value : value.slice(0, colon);
      if (!(kinds as readonly string[]).includes(kind)) {
        ctx.addIssue({ code: 'custom', message: `kind must be one of ${kinds.join(', ')}` });
        return z.NEVER;
      }
      if (colon < 0) return { kind: kind as K[number] };
      const id = partyIdSchema.safeParse(value.slice(colon + 1));
      if (!id.success) {
        ctx.addIssue({ code: 'custom', message: 'id must be 1–255 characters' });
        return z.NEVER;
      }
      return { kind: kind as K[number], id: id.data };
    })
    .describe(`kind or kind:id, kind one of ${kinds.join(', ')}`);
}

/** Comma-separated event types; `session.*` stands for every type in that group. */
const typeFilterSchema = z
  .string()
  .max(1000)
  .transform((value, ctx) => {
    const types = new Set<AuditEventType>();
    for (const part of value.split(',')) {
      const matches = part.endsWith('.*')
        ? auditEventTypes.filter((t) => t.startsWith(part.slice(0, -1)))
        : auditEventTypes.filter((t) => t === part);
      if (matches.length === 0) {
        ctx.addIssue({ code: 'custom', message: `unknown event type "${part.slice(0, 60)}"` });
        return z.NEVER;
      }
      for (const t of matches) types.add(t);
    }
    return [...types];
  })
  .describe('comma-separated event types; `group.*` selects a whole group, e.g. `session.*`');

const instantSchema = z.iso
  .datetime({ offset: true })
  .transform((s) => Date.parse(s))
  .describe('ISO 8601 date-time');

const filterShape = {
  server: serverNameSchema.optional().describe('virtual server name (a server key: only its own)'),
  type: typeFilterSchema.optional(),
  actor: partyFilterSchema(actorKinds).optional(),
  subject: partyFilterSchema(subjectKinds).optional(),
  since: instantSchema.optional().describe('events at or after this time'),
  until: instantSchema.optional().describe('events before this time'),
};

const sinceBeforeUntil = (q: { since?: number | undefined; until?: number | undefined }) =>
  q.since === undefined || q.until === undefined || q.since < q.until;
const sinceBeforeUntilMessage = { message: 'since must be before until', path: ['since'] };

/** Query of `GET /ns/api/v2/audit`; unknown parameters are refused (a typo must not widen a filter). */
export const auditQuerySchema = z
  .strictObject({
    ...filterShape,
    order: z.enum(['desc', 'asc']).optional().describe('desc (default): newest first'),
    limit: z
      .string()
      .regex(/^\d{1,4}$/, `a whole number from 1 to ${maxAuditPageSize}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(maxAuditPageSize))
      .optional()
      .describe(`page size, 1–${maxAuditPageSize}, default 100`),
    marker: z.string().min(1).max(maxMarkerLength).optional().describe('next_marker of the previous page'),
  })
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage);

/** Query of `GET /ns/api/v2/audit/export`: the filters only (everything matching, oldest first). */
export const auditExportQuerySchema = z
  .strictObject(filterShape)
  .refine(sinceBeforeUntil, sinceBeforeUntilMessage);

/** Answer of `GET /ns/api/v2/audit`. */
export const auditPageResponseSchema = z.object({
  events: z.array(auditEventWireSchema),
  next_marker: z.string().nullable().describe('desc: null on the last page; asc: where to poll on from'),
});

/** One line of `GET /ns/api/v2/audit/export` (`application/x-ndjson`). */
export const auditExportLineSchema = auditEventWireSchema;

type FilterQuery = z.output<typeof auditExportQuerySchema>;

const mapAuditErrors: Middleware<NsState> = async (_ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (err instanceof AuditError)
      throw new HttpProblem(400, 'bad_request', err.message, [{ path: 'marker', message: err.message }]);
    throw err;
  }
};

export function registerAuditRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { audit, servers } = deps;
  const auth = requireApiKey(deps.apiKeys);
  // Reading the log needs the `audit` role (root holds every role); a server key sees only its server.
  const requireAuditRole = requireRoleStep('audit');

  /** The filter this key may run: a server key is confined to its server, whatever it asked for. */
  const scopedFilter = async (state: NsState, q: FilterQuery): Promise<AuditFilter> => {
    const principal = principalOf(state);
    const filter: AuditFilter = {
      ...(q.type !== undefined && { types: q.type }),
      ...(q.actor !== undefined && { actor: q.actor }),
      ...(q.subject !== undefined && { subject: q.subject }),
      ...(q.since !== undefined && { since: q.since }),
      ...(q.until !== undefined && { until: q.until }),
    };
    if (principal.serverId === null) {
      // By name: events of a deleted (or re-created) server stay findable for root.
      if (q.server !== undefined) filter.serverName = q.server;
      return filter;
    }
    if (q.server !== undefined) {
      const server = await servers.findByName(q.server);
      if (!server || server.id !== principal.serverId)
        throw problems.forbidden("This API key may only read its own server's audit log");
    }
    filter.serverId = principal.serverId;
    return filter;
  };

  router.get('/api/v2/audit', noStore, auth, requireAuditRole, mapAuditErrors, async (ctx) => {
    const q = readQuery(ctx, auditQuerySchema);
    const filter = await scopedFilter(ctx.state, q);
    const page = await audit.query({
      ...filter,
      ...(q.order !== undefined && { order: q.order }),
      ...(q.limit !== undefined && { limit: q.limit }),
      ...(q.marker !== undefined && { marker: q.marker }),
    });
    ctx.body = { events: page.events.map(toWire), next_marker: page.nextMarker };
  });

  router.get('/api/v2/audit/export', noStore, auth, requireAuditRole, async (ctx) => {
    const q = readQuery(ctx, auditExportQuerySchema);
    const events = audit.export(await scopedFilter(ctx.state, q));
    // The first batch is read before the status line goes out: a failing database is still a clean 500.
    const first = await events.next();
    const log = ctx.state.log;
    async function* lines(): AsyncGenerator<string> {
      let chunk = '';
      let n = 0;
      try {
        for (let r: IteratorResult<AuditEvent> = first; !r.done; r = await events.next()) {
          chunk += `${JSON.stringify(toWire(r.value))}\n`;
          if (++n % 200 === 0) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      } catch (err) {
        // Too late for a problem answer: the response is cut off, which the client sees as an error.
        log.error({ err }, 'audit export failed');
        throw err;
      }
    }
    ctx.type = 'application/x-ndjson';
    ctx.body = Readable.from(lines());
  });
}
