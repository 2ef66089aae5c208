// Handshake message shapes (docs/protocol.md §7.1): JSON with base64url binary fields, validated with zod.
import { z } from 'zod';
import { type Bytes, fromB64u, fromUtf8, utf8 } from '../encoding.js';
import { ChannelError, type ChannelErrorCode, isChannelErrorCode } from '../errors.js';

const b64uOf = (length: number) =>
  z
    .string()
    .max(Math.ceil((length * 4) / 3))
    .transform((s, ctx) => {
      try {
        const bytes = fromB64u(s);
        if (bytes.length === length) return bytes;
      } catch {}
      ctx.addIssue({ code: 'custom', message: `expected ${length} bytes in base64url` });
      return z.NEVER;
    });

export const targetKinds = ['ns', 'sfs', 'mc'] as const;
export type TargetKind = (typeof targetKinds)[number];

/** Which server the client wants (first message): an NS virtual server, an SFS or an MC, by id. */
export const TargetSchema = z.object({
  kind: z.enum(targetKinds),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/),
});
export type Target = z.infer<typeof TargetSchema>;

const versionList = z.array(z.number().int().min(1).max(255)).min(1).max(8);
const suiteList = z.array(z.string().max(64)).min(1).max(8);

export const ClientHelloSchema = z.object({
  type: z.literal('client_hello'),
  v: versionList,
  suites: suiteList,
  target: TargetSchema,
  eph: b64uOf(65),
  nonce: b64uOf(32),
});

export const ServerHelloSchema = z.object({
  type: z.literal('server_hello'),
  v: z.number().int().min(1).max(255),
  suite: z.string().max(64),
  supported: z.object({ v: versionList, suites: suiteList }),
  eph: b64uOf(65),
  nonce: b64uOf(32),
});

const SuccessionSchema = z.object({ old: b64uOf(65), new: b64uOf(65), sig: b64uOf(64) });

export const ServerAuthSchema = z.object({
  type: z.literal('server_auth'),
  key: b64uOf(65),
  succession: z.array(SuccessionSchema).max(8),
  sig: b64uOf(64),
  mac: b64uOf(32),
});

export const ClientFinishSchema = z.object({
  type: z.literal('client_finish'),
  key: b64uOf(65).nullable(),
  sig: b64uOf(64).nullable(),
  mac: b64uOf(32),
});

export const AlertSchema = z.object({
  type: z.literal('alert'),
  code: z.string().max(64),
  message: z.string().max(512).optional(),
});

export const CloseSchema = z.object({ code: z.string().max(64), message: z.string().max(512).optional() });

/** Parses UTF-8 JSON against a schema; anything else is `malformed`. */
export function parseJson<S extends z.ZodType>(schema: S, bytes: Uint8Array, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new ChannelError('malformed', `${what}: not UTF-8 JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ChannelError('malformed', `${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export function jsonBytes(value: unknown): Bytes {
  return utf8(JSON.stringify(value));
}

/** The error a peer's alert or close record stands for (unknown codes become `internal`). */
export function remoteError(code: string, message: string | undefined): ChannelError {
  const known: ChannelErrorCode = isChannelErrorCode(code) ? code : 'internal';
  return new ChannelError(known, `peer: ${message ?? code}`, { remote: true });
}
