// Typed storage errors: repositories throw these instead of driver errors, so callers never parse SQL messages.

export type DbErrorCode = 'NOT_FOUND' | 'CONFLICT';

/** A Load or Delete found nothing under that id. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  readonly code: DbErrorCode = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} "${id}" not found`);
  }
}

/**
 * A Save hit a unique constraint. The driver error is deliberately not kept as `cause`: its message carries
 * the SQL and, depending on the driver, the conflicting values, which may be secrets.
 */
export class ConflictError extends Error {
  override name = 'ConflictError';
  readonly code: DbErrorCode = 'CONFLICT';
  constructor(
    readonly entity: string,
    readonly key: string,
    /** The violated constraint as the driver names it, when it does. */
    readonly constraint?: string,
  ) {
    super(`${entity} "${key}" already exists`);
  }
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/** True for a unique / primary-key violation from better-sqlite3, pg or mysql2. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as DriverError;
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505' ||
    code === 'ER_DUP_ENTRY' ||
    errno === 1062
  );
}

/** Best-effort name of the violated constraint (pg reports it; MySQL and SQLite only in the message). */
export function violatedConstraint(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { constraint, message } = err as DriverError;
  if (typeof constraint === 'string') return constraint;
  if (typeof message !== 'string') return undefined;
  return (
    /for key '([^']+)'/.exec(message)?.[1] ?? /constraint failed: ([\w., ]+)$/.exec(message)?.[1]?.trim()
  );
}

/** Rethrows a unique violation as ConflictError; anything else unchanged. */
export function rethrowConflict(err: unknown, entity: string, key: string): never {
  if (isUniqueViolation(err)) throw new ConflictError(entity, key, violatedConstraint(err));
  throw err;
}
