// Typed failures of audit queries, named after the codes REST clients see.

export type AuditErrorCode =
  /** The marker is not one this API handed out, or belongs to the other sort order. */
  'invalid_marker';

export class AuditError extends Error {
  override name = 'AuditError';
  constructor(
    readonly code: AuditErrorCode,
    detail: string,
  ) {
    super(detail);
  }
}
