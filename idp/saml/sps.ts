// The SAML service providers of each virtual server: registered from their metadata, with our settings for
// each (what to sign, whether to encrypt, which user claims become which attributes).
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../../auth-server/common/clock.js';
import { rethrowConflict } from '../../auth-server/common/db/errors.js';
import { lockRows } from '../../auth-server/common/db/lock.js';
import { fromDbMillis } from '../../auth-server/common/db/timestamps.js';
import { SamlError } from './errors.js';
import { maxEntityIdLength, parseSpMetadata, type SpMetadata } from './sp-metadata.js';
import { nameIdFormatNames } from './subject.js';

export const spsTable = 'idp_saml_sps';

/** What gets an XML signature: the Assertion, the Response around it, or both. */
export const signModes = ['assertion', 'response', 'both'] as const;
export type SignMode = (typeof signModes)[number];

/** Claims an attribute may carry (DESIGN.md §5), or `attr:NAME` for any NS user attribute. */
export const claimNames = ['sub', 'userid', 'name', 'email', 'groups'] as const;
export const claimSchema = z
  .string()
  .max(128)
  .regex(
    /^(sub|userid|name|email|groups|attr:[A-Za-z0-9_.-]{1,64})$/,
    'sub, userid, name, email, groups or attr:NAME',
  );

/** SAML attribute name (often a URI or an OID URN). */
export const attributeNameSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s<>&"']+$/, 'no spaces or markup');

export const spSettingsSchema = z.strictObject({
  sign: z.enum(signModes).default('both'),
  encrypt: z.boolean().default(false),
  attributes: z
    .record(attributeNameSchema, claimSchema)
    .refine((r) => Object.keys(r).length <= 50, 'at most 50 attributes')
    .default({}),
  /** The NameID format this SP gets, overriding its metadata's; absent: the request's or the metadata's. */
  nameIdFormat: z.enum(nameIdFormatNames).optional(),
});
export type SpSettings = z.output<typeof spSettingsSchema>;

export interface SamlSp {
  server: string;
  entityId: string;
  metadata: SpMetadata;
  /** The metadata document as registered. */
  metadataXml: string;
  settings: SpSettings;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  server: string;
  entity_id: string;
  metadata: string;
  settings: string;
  created_at: unknown;
  updated_at: unknown;
}

/** Runs inside the write's transaction: throwing rolls the write back (the audit record). */
export type InsideWrite = (sp: SamlSp) => Promise<void>;

export interface SpRepository {
  /** Parses and checks the metadata; a ConflictError when the entity ID is registered already. */
  add(server: string, metadataXml: string, settings: SpSettings, inside?: InsideWrite): Promise<SamlSp>;
  get(server: string, entityId: string): Promise<SamlSp | undefined>;
  list(server: string): Promise<SamlSp[]>;
  remove(server: string, entityId: string, inside?: InsideWrite): Promise<boolean>;
  /**
   * Replaces the settings and, when given, the metadata (whose entityID must be the SP's: a SamlError
   * otherwise); undefined when the server has no such SP. `settings` gets the stored SP and says what it
   * becomes, so a read-modify-write sees the row it locked.
   */
  update(
    server: string,
    entityId: string,
    change: { metadataXml?: string; settings(current: SamlSp): SpSettings },
    inside?: InsideWrite,
  ): Promise<SamlSp | undefined>;
}

export const entityIdSchema = z.string().min(1).max(maxEntityIdLength);

export function createSpRepository(deps: { knex: Knex; clock: Clock }): SpRepository {
  const { knex, clock } = deps;
  const toDomain = (row: Row): SamlSp => ({
    server: row.server,
    entityId: row.entity_id,
    metadata: parseSpMetadata(row.metadata),
    metadataXml: row.metadata,
    settings: spSettingsSchema.parse(JSON.parse(row.settings)),
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  });
  // Parsed metadata per (row, update time): an SSO request must not re-parse the document each time.
  const cache = new Map<string, { updatedAt: number; sp: SamlSp }>();

  return {
    async add(server, metadataXml, settings, inside) {
      const metadata = parseSpMetadata(metadataXml);
      const now = clock.now();
      const row: Row = {
        server,
        entity_id: metadata.entityId,
        metadata: metadataXml,
        settings: JSON.stringify(settings),
        created_at: now,
        updated_at: now,
      };
      const sp = toDomain(row);
      try {
        await knex.transaction(async (trx) => {
          await trx(spsTable).insert(row);
          await inside?.(sp);
        });
      } catch (err) {
        rethrowConflict(err, 'SAML SP', `${server}/${metadata.entityId}`);
      }
      return sp;
    },

    async get(server, entityId) {
      if (!entityIdSchema.safeParse(entityId).success) return undefined;
      const row = (await knex<Row>(spsTable).where({ server, entity_id: entityId }).first()) as
        | Row
        | undefined;
      if (!row) return undefined;
      const key = `${server}\n${entityId}`;
      const updatedAt = fromDbMillis(row.updated_at);
      const hit = cache.get(key);
      if (
        hit &&
        hit.updatedAt === updatedAt &&
        hit.sp.metadataXml === row.metadata &&
        JSON.stringify(hit.sp.settings) === JSON.stringify(spSettingsSchema.parse(JSON.parse(row.settings)))
      )
        return hit.sp;
      const sp = toDomain(row);
      cache.set(key, { updatedAt, sp });
      return sp;
    },

    async list(server) {
      const rows = (await knex<Row>(spsTable).where({ server }).orderBy('entity_id')) as Row[];
      return rows.map(toDomain);
    },

    async update(server, entityId, change, inside) {
      // Parsed before the transaction: unusable metadata changes nothing and holds no lock.
      const metadata = change.metadataXml === undefined ? undefined : parseSpMetadata(change.metadataXml);
      if (metadata && metadata.entityId !== entityId)
        throw new SamlError(
          'malformed',
          `The metadata is of ${metadata.entityId.slice(0, 255)}, not of this SP (remove it and add the other)`,
        );
      return knex.transaction(async (trx) => {
        // Concurrent updates of one SP apply one after the other, each to the other's result.
        if ((await lockRows(trx, spsTable, { server, entity_id: entityId }, 'updated_at')) === 0)
          return undefined;
        const row = (await trx<Row>(spsTable).where({ server, entity_id: entityId }).first()) as
          | Row
          | undefined;
        if (!row) return undefined;
        const current = toDomain(row);
        const settings = spSettingsSchema.parse(change.settings(current));
        // Strictly later than before, so the parsed-metadata cache of every instance sees the change.
        const now = Math.max(clock.now(), fromDbMillis(row.updated_at) + 1);
        const next: Row = {
          ...row,
          metadata: change.metadataXml ?? row.metadata,
          settings: JSON.stringify(settings),
          updated_at: now,
        };
        await trx(spsTable)
          .where({ server, entity_id: entityId })
          .update({ metadata: next.metadata, settings: next.settings, updated_at: now });
        const sp = toDomain(next);
        cache.delete(`${server}\n${entityId}`);
        await inside?.(sp);
        return sp;
      });
    },

    async remove(server, entityId, inside) {
      return knex.transaction(async (trx) => {
        const row = (await trx<Row>(spsTable).where({ server, entity_id: entityId }).first()) as
          | Row
          | undefined;
        if (!row) return false;
        await trx(spsTable).where({ server, entity_id: entityId }).delete();
        cache.delete(`${server}\n${entityId}`);
        await inside?.(toDomain(row));
        return true;
      });
    },
  };
}
