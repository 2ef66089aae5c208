// A peer interface as data: for each async method, the zod schemas of its positional arguments and of its
// result. Server and client are generic over such a table, so a method added to a peer costs one entry.
import { z } from 'zod';

/** The members of `P` that return promises: only those can travel over HTTP. */
export type RemoteKeys<P> = {
  [K in keyof P]-?: P[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof P] &
  string;

export interface PeerMethodSpec {
  /** The arguments as a JSON array (`undefined` travels as `null`; see `optionalArg`). */
  args: z.ZodType<unknown[]>;
  /** The resolved value; `undefined` travels as a missing `result` member. */
  result: z.ZodType;
}

/** One entry per remote method of `P`: the type makes a forgotten method a compile error. */
export type PeerTable<P> = {
  readonly [K in RemoteKeys<P>]: PeerMethodSpec;
};

/**
 * An argument that may be `undefined`: JSON arrays carry it as `null`, so accept null and hand the
 * implementation `undefined` again.
 */
export function optionalArg<S extends z.ZodType>(schema: S) {
  return schema.nullish().transform((v) => (v === null ? undefined : v) as z.output<S> | undefined);
}

/** A void result: the server sends no `result` member and the client resolves to `undefined`. */
export const voidResult = z.undefined();

/** Wire limits shared by server and client (DESIGN.md §6: every input size-capped). */
export const peerLimits = {
  /** Request bodies: the largest call is an MC post with an 8 KiB sealed message. */
  requestBytes: 64 * 1024,
  /** Responses: key sets and user profiles stay far below this. */
  responseBytes: 256 * 1024,
} as const;

/** Header that carries the service key (never a cookie: internal calls come from services, not browsers). */
export const serviceKeyHeader = 'x-nextauth-service-key';

/** Path of a method under a service's prefix. */
export function internalPath(service: string, method: string): string {
  return `/${service}/internal/v1/${method}`;
}
