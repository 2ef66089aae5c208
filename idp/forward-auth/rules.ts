// The forward-auth access rules (DESIGN.md §5, NEXTAUTH_FORWARD_AUTH_RULES): the YAML shape, its validation
// with errors that name the file, the rule index and the field, and first-match lookup per request.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { defaultHeaderMapping, type HeaderMapping, headerMappingSchema } from './identity-headers.js';

/** What a matching rule asks of the request. */
export type Policy =
  | { kind: 'deny' }
  | {
      kind: 'authenticated';
      /** The user must be in at least one of these NS groups. */
      groups?: string[];
      /** Every one of these RFC 8176 `amr` values must be in the session's. */
      amr?: string[];
      /** Step-up: the phone confirmation must be at most this many seconds old. */
      recentAuthSeconds?: number;
    };

export interface Rule {
  /** Position in the file (0-based), for logs and metrics. */
  index: number;
  hosts?: string[];
  paths?: RegExp[];
  methods?: string[];
  policy: Policy;
}

export interface RuleSet {
  rules: Rule[];
  headers: HeaderMapping;
}

/** No file: every route needs an authenticated IdP session (what an unmatched request gets). */
export const defaultRuleSet: RuleSet = {
  rules: [],
  headers: defaultHeaderMapping,
};

/** A rules file that cannot be used; the message names the file, the rule and the field. */
export class RulesError extends Error {
  readonly code = 'forward_auth_rules_invalid';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'RulesError';
  }
}

const maxFileBytes = 256 * 1024;
const maxRules = 1000;

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([
    item,
    z.array(item).min(1, 'expected at least one entry').max(100, 'expected at most 100 entries'),
  ]);

const hostPattern = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i,
    'expected a host name, optionally starting with "*." (no port, no scheme)',
  );

const pathPattern = z
  .string()
  .max(1024)
  .regex(/^\/[^\s?#]*$/, 'expected a path starting with "/" (globs: * within a segment, ** across)');

const methodName = z
  .string()
  .regex(/^[A-Za-z]{1,20}$/, 'expected an HTTP method name such as GET')
  .transform((m) => m.toUpperCase());

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 5m or 1h (at most 30d)' });
    return z.NEVER;
  }
  return seconds;
});

const ruleSchema = z
  .strictObject({
    host: oneOrMany(hostPattern).optional(),
    path: oneOrMany(pathPattern).optional(),
    methods: oneOrMany(methodName).optional(),
    policy: z.enum(['deny', 'authenticated'], { error: 'expected deny or authenticated' }).optional(),
    groups: z
      .array(z.string().min(1).max(256))
      .min(1, 'expected at least one group')
      .max(100, 'expected at most 100 groups')
      .optional(),
    amr: z
      .array(z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'expected RFC 8176 amr values such as pin'))
      .min(1, 'expected at least one amr value')
      .max(10)
      .optional(),
    'recent-auth': duration.optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.policy !== 'deny') return;
    for (const key of ['groups', 'amr', 'recent-auth'] as const) {
      if (rule[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'not allowed with policy: deny' });
      }
    }
  });

const fileSchema = z.strictObject({
  headers: headerMappingSchema.optional(),
  rules: z.array(ruleSchema).max(maxRules, `expected at most ${maxRules} rules`).optional(),
});

/** `5m`, `90s`, `1h`, `2d` or a bare number of seconds; undefined when malformed, zero or over 30 days. */
export function parseDuration(value: string | number): number | undefined {
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else {
    const m = /^(\d{1,7})\s*([smhd])?$/.exec(value.trim());
    if (!m) return undefined;
    seconds = Number(m[1]) * (units[m[2] ?? 's'] ?? 1);
  }
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 30 * 86400) return undefined;
  return seconds;
}

/** Glob to an anchored regular expression: `**` crosses segments, `*` stays within one. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

const list = <T>(value: T | T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  }
  return out;
}

/** Parses and validates a rules file's text; throws `RulesError` naming `file`, the rule index and field. */
export function parseRules(text: string, file: string): RuleSet {
  if (Buffer.byteLength(text) > maxFileBytes) {
    throw new RulesError(file, '', `larger than ${maxFileBytes / 1024} KiB`);
  }
  let doc: unknown;
  try {
    // Aliases are capped so a "billion laughs" document cannot blow up; one document per file.
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new RulesError(
      file,
      line ? `line ${line}` : '',
      `not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === null || doc === undefined) return defaultRuleSet;
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? fieldPath(issue.path) : '';
    throw new RulesError(file, path.replace(/^rules\[(\d+)\]/, 'rule $1'), issue?.message ?? 'invalid');
  }
  const rules: Rule[] = (parsed.data.rules ?? []).map((r, index) => {
    const rule: Rule = { index, policy: { kind: 'deny' } };
    const hosts = list(r.host)?.map((h) => h.toLowerCase());
    if (hosts) rule.hosts = hosts;
    const paths = list(r.path)?.map(globToRegExp);
    if (paths) rule.paths = paths;
    const methods = list(r.methods);
    if (methods) rule.methods = methods;
    if (r.policy !== 'deny') {
      const policy: Policy = { kind: 'authenticated' };
      if (r.groups) policy.groups = r.groups;
      if (r.amr) policy.amr = r.amr;
      if (r['recent-auth'] !== undefined) policy.recentAuthSeconds = r['recent-auth'];
      rule.policy = policy;
    }
    return rule;
  });
  return { rules, headers: parsed.data.headers ?? defaultHeaderMapping };
}

/** The parts of the original request that rules look at. */
export interface RuleRequest {
  /** Lower case, without port. */
  host: string;
  /** Decoded, dot segments resolved, no query. */
  path: string;
  method: string;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

/**
 * The first rule that matches, or undefined. A request that no rule matches is treated by the caller as
 * `authenticated` (see `decide`), so a forgotten route is never open.
 */
export function matchRule(rules: readonly Rule[], req: RuleRequest): Rule | undefined {
  return rules.find(
    (rule) =>
      (!rule.hosts || rule.hosts.some((p) => hostMatches(p, req.host))) &&
      (!rule.paths || rule.paths.some((re) => re.test(req.path))) &&
      (!rule.methods || rule.methods.includes(req.method)),
  );
}
