// NS users: replace (PUT, nextAuth registerUser), merge (PATCH), delete (with the user's accounts) and list,
// each write with its audit event in the same transaction.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { lockRows } from '../../common/db/lock.js';
import type { AuditContext } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { VirtualServer } from '../servers/model.js';
import {
  mergeProfile,
  type User,
  type UserPage,
  type UserPatch,
  type UserProfile,
  type UserProfileInput,
  type UserQuery,
  useridSchema,
  userPatchSchema,
  userProfileSchema,
} from './model.js';
import { createUserRepository, normalizeProfile } from './repository.js';

export interface UserService {
  get(server: VirtualServer, userid: string): Promise<User | undefined>;
  /** Creates or overwrites the whole profile. Throws ZodError. */
  replace(
    server: VirtualServer,
    userid: string,
    profile: UserProfileInput,
    by: AuditContext,
  ): Promise<UserWrite>;
  /** Merges into the profile, creating the user when missing. Throws ZodError. */
  merge(server: VirtualServer, userid: string, patch: UserPatch, by: AuditContext): Promise<UserWrite>;
  /**
   * Deletes the user's profile and every account (phone) of that userid on the server, so the user can no
   * longer log in there. Returns undefined when there was neither.
   */
  delete(
    server: VirtualServer,
    userid: string,
    by: AuditContext,
  ): Promise<{ accountsDeleted: number } | undefined>;
  /** Throws InvalidMarkerError or RangeError (limit). */
  list(server: VirtualServer, query: UserQuery): Promise<UserPage>;
}

export interface UserWrite {
  user: User;
  created: boolean;
}

function changedFields(before: UserProfile, after: UserProfile): string[] {
  const changed: string[] = [];
  if (before.name !== after.name) changed.push('name');
  if (before.email !== after.email) changed.push('email');
  if (JSON.stringify(before.groups) !== JSON.stringify(after.groups)) changed.push('groups');
  const keys = new Set([...Object.keys(before.attributes), ...Object.keys(after.attributes)]);
  for (const k of [...keys].sort()) {
    if (before.attributes[k] !== after.attributes[k]) changed.push(`attributes.${k}`);
  }
  return changed.slice(0, 32);
}

/**
 * InnoDB's gap locks make two first writes of one userid deadlock (one is rolled back, errno 1213);
 * PostgreSQL reports 40P01. Either way the transaction is simply run again.
 */
function isDeadlock(err: unknown): boolean {
  const { code, errno } = (err ?? {}) as { code?: unknown; errno?: unknown };
  return errno === 1213 || code === 'ER_LOCK_DEADLOCK' || code === '40P01';
}

/** The user appeared or vanished between the unlocked read and the transaction. */
class LostRace extends Error {}

const emptyProfile: UserProfile = { name: null, email: null, attributes: {}, groups: [] };

export function createUserService(deps: {
  db: Knex;
  clock: Clock;
  random: Random;
  audit: AuditRecorder;
}): UserService {
  const { db, clock, random, audit } = deps;

  /**
   * Writes `next(current)`. Whether the user exists is read first without a lock; an existing user's row
   * is then locked as the transaction's first write (concurrent merges apply one after the other), a new
   * user's row is inserted as the first write. A lost race (the row appeared or vanished in between, a
   * duplicate insert, a deadlock) runs the whole write again.
   */
  const write = async (
    server: VirtualServer,
    rawUserid: string,
    next: (current: UserProfile) => UserProfile,
    by: AuditContext,
  ): Promise<UserWrite> => {
    const userid = useridSchema.parse(rawUserid);
    for (let attempt = 0; ; attempt++) {
      const exists =
        (await db('ns_users').select('id').where({ server_id: server.id, userid }).first()) !== undefined;
      try {
        return await db.transaction(async (trx) => {
          const repo = createUserRepository(trx);
          let current: User | undefined;
          if (exists) {
            if ((await lockRows(trx, 'ns_users', { server_id: server.id, userid }, 'updated_at')) !== 1)
              throw new LostRace();
            current = await repo.find(server.id, userid);
            if (!current) throw new LostRace();
          }
          const profile = next(current ?? emptyProfile);
          const now = clock.now();
          const user: User = {
            ...normalizeProfile(profile),
            id: current?.id ?? randomToken(random, 16),
            serverId: server.id,
            userid,
            createdAt: current?.createdAt ?? new Date(now),
            updatedAt: new Date(now),
          };
          await repo.save(user, !current);
          await audit.record(
            {
              type: 'user.updated',
              server: { id: server.id, name: server.name },
              ...by,
              subject: { kind: 'user', id: userid },
              details: { created: !current, changed: changedFields(current ?? emptyProfile, profile) },
            },
            trx,
          );
          return { user, created: !current };
        });
      } catch (err) {
        const race = err instanceof LostRace || isUniqueViolation(err) || isDeadlock(err);
        if (race && attempt < 5) continue;
        throw err;
      }
    }
  };

  return {
    get: (server, userid) => createUserRepository(db).find(server.id, userid),

    replace(server, userid, input, by) {
      const profile = userProfileSchema.parse(input);
      return write(server, userid, () => profile, by);
    },

    merge(server, userid, input, by) {
      const patch = userPatchSchema.parse(input);
      return write(server, userid, (current) => mergeProfile(current, patch), by);
    },

    async delete(server, rawUserid, by) {
      const userid = useridSchema.parse(rawUserid);
      return db.transaction(async (trx) => {
        const profile = await createUserRepository(trx).delete(server.id, userid);
        const accountsDeleted = await trx('ns_accounts').where({ server_id: server.id, userid }).del();
        if (!profile && accountsDeleted === 0) return undefined;
        await audit.record(
          {
            type: 'user.deleted',
            server: { id: server.id, name: server.name },
            ...by,
            subject: { kind: 'user', id: userid },
            details: { profile, accountsDeleted },
          },
          trx,
        );
        return { accountsDeleted };
      });
    },

    list: (server, query) => createUserRepository(db).list(server.id, query),
  };
}
