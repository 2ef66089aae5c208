// Reads NEXTAUTH_* (and `*_FILE` for secrets) into a typed, validated Config; the first bad value stops
// start-up with one line naming the variable and the problem.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { type SettingKey, type SettingSpec, settings } from './schema.js';

export type Mode = 'embedded' | 'service';
export type ServiceName = 'ns' | 'sfs' | 'mc' | 'idp';
export const serviceNames: readonly ServiceName[] = ['ns', 'sfs', 'mc', 'idp'];

type Raw = { [K in SettingKey]: z.output<(typeof settings)[K]['schema']> | undefined };

export interface ServiceDbConfig {
  /** Unset: SQLite under the data directory. */
  uri: string | undefined;
  migrate: boolean;
}

export interface Config {
  mode: Mode;
  env: 'development' | 'production' | 'test';
  production: boolean;
  publicUrl: string;
  host: string;
  port: number;
  adminHost: string;
  adminPort: number;
  dataDir: string;
  db: Record<ServiceName, ServiceDbConfig>;
  kvUri: string | undefined;
  kvPrefix: string;
  log: { level: string; format: 'json' | 'pretty' };
  nsRootApiKey: string | undefined;
  secretKey: string | undefined;
  pinPepper: string | undefined;
  /** Domain of the IdP session cookie (no leading dot); undefined: host-only. */
  cookieDomain: string | undefined;
  /** IdP session timeouts in seconds. */
  idpSession: { idleSeconds: number; maxSeconds: number };
  /** Forward-auth rules file (absolute path); unset: every route needs a login. */
  forwardAuthRules: string | undefined;
  outboundAllow: string[];
  /** Resource servers (absolute URIs, no fragment) whose access tokens are RFC 9068 JWTs. */
  oidcResources: string[];
  /** Where oidc-provider's codes, tokens, sessions and grants live. */
  oidcStorage: 'sql' | 'kv';
  trustProxy: boolean;
  /** GeoIP2/GeoLite2 City or Country `.mmdb` (absolute path); opened by the runtime when NS runs. */
  geoipDb: string | undefined;
  shutdownTimeoutMs: number;
  /** Key of the internal service-to-service endpoints; required for `serve`, unset: none mounted. */
  serviceKey: string | undefined;
  /** Keys the internal endpoints accept: the service key, then the one accepted during a rotation. */
  acceptedServiceKeys: string[];
  /** Base URLs of the other services' internal endpoints (distributed mode). */
  peerUrls: { ns?: string; sfs?: string; mc?: string };
  /** MC push providers; a provider left out sends nothing (its instances rely on pull). */
  mcPush: McPushConfig;
  /** Loud warnings for a production start that relies on defaults that must change. */
  warnings: string[];
}

/** Test-only redirection of a push provider's connections to a local fake. */
export interface PushEndpointOverride {
  host: string;
  port: number;
  ca?: string;
}

export interface McPushConfig {
  fcm?: {
    serviceAccount: {
      project_id: string;
      client_email: string;
      private_key: string;
      private_key_id?: string;
    };
    endpoint?: PushEndpointOverride;
  };
  apns?: {
    key: string;
    keyId: string;
    teamId: string;
    topic: string;
    production: boolean;
    endpoint?: PushEndpointOverride;
  };
}

/** A configuration problem; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  mode: Mode;
  isTty?: boolean;
  readFile?: (path: string) => string;
}

function rawValue(
  spec: SettingSpec,
  env: NodeJS.ProcessEnv,
  readFile: (p: string) => string,
): string | undefined {
  const direct = env[spec.env];
  const fileVar = `${spec.env}_FILE`;
  const file = spec.secret ? env[fileVar] : undefined;
  if (direct !== undefined && direct !== '' && file) {
    throw new ConfigError(spec.env, `set either ${spec.env} or ${fileVar}, not both`);
  }
  if (file) {
    try {
      return readFile(file).replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(
        fileVar,
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  if (direct === undefined || direct === '') return spec.default;
  return direct;
}

function parseAll(env: NodeJS.ProcessEnv, readFile: (p: string) => string): Raw {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const [key, spec] of Object.entries(settings) as [SettingKey, SettingSpec][]) {
    const value = rawValue(spec, env, readFile);
    if (value === undefined) continue;
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]?.message ?? 'invalid value';
      // Secrets are never echoed back, not even when wrong.
      const shown = spec.secret
        ? ''
        : ` (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)})`;
      throw new ConfigError(spec.env, `${issue}${shown}`);
    }
    out[key] = parsed.data;
  }
  return out as Raw;
}

export function loadConfig(env: NodeJS.ProcessEnv, options: LoadOptions): Config {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const raw = parseAll(env, readFile);
  const production = raw.env === 'production' || env.NODE_ENV === 'production';
  const port = raw.port ?? 3000;
  const embedded = options.mode === 'embedded';
  const db = (uri: string | undefined, migrate: boolean | undefined): ServiceDbConfig => ({
    uri,
    migrate: migrate ?? embedded,
  });
  const config: Config = {
    mode: options.mode,
    env: production ? 'production' : (raw.env ?? 'development'),
    production,
    publicUrl: (raw.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    host: raw.host ?? '0.0.0.0',
    port,
    adminHost: raw.adminHost ?? '127.0.0.1',
    adminPort: raw.adminPort ?? 9613,
    dataDir: resolve(raw.dataDir ?? './data'),
    db: {
      ns: db(raw.nsDbUri, raw.nsDbMigrations),
      sfs: db(raw.sfsDbUri, raw.sfsDbMigrations),
      mc: db(raw.mcDbUri, raw.mcDbMigrations),
      idp: db(raw.idpDbUri, raw.idpDbMigrations),
    },
    kvUri: raw.kvUri,
    kvPrefix: raw.kvPrefix ?? 'nextauth:',
    log: { level: raw.logLevel ?? 'info', format: raw.logFormat ?? (options.isTty ? 'pretty' : 'json') },
    nsRootApiKey: raw.nsRootApiKey,
    secretKey: raw.secretKey,
    pinPepper: raw.pinPepper,
    cookieDomain: raw.cookieDomain,
    idpSession: { idleSeconds: raw.idpSessionIdle ?? 3600, maxSeconds: raw.idpSessionMax ?? 43200 },
    forwardAuthRules: raw.forwardAuthRules === undefined ? undefined : resolve(raw.forwardAuthRules),
    outboundAllow: (raw.outboundAllow ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    oidcResources: resourceList(raw.oidcResources ?? ''),
    oidcStorage: raw.oidcStorage ?? 'sql',
    trustProxy: raw.trustProxy ?? false,
    geoipDb: raw.geoipDb === undefined ? undefined : resolve(raw.geoipDb),
    shutdownTimeoutMs: raw.shutdownTimeoutMs ?? 10000,
    serviceKey: raw.serviceKey,
    acceptedServiceKeys: [raw.serviceKey, raw.serviceKeyAccepted].filter((k) => k !== undefined),
    peerUrls: {
      ...(raw.nsUrl ? { ns: raw.nsUrl.replace(/\/+$/, '') } : {}),
      ...(raw.sfsUrl ? { sfs: raw.sfsUrl.replace(/\/+$/, '') } : {}),
      ...(raw.mcUrl ? { mc: raw.mcUrl.replace(/\/+$/, '') } : {}),
    },
    mcPush: mcPushConfig(raw, production),
    warnings: [],
  };
  if (config.port === config.adminPort) {
    throw new ConfigError(settings.adminPort.env, `must differ from NEXTAUTH_PORT (${config.port})`);
  }
  if (!embedded && config.kvUri === undefined) {
    // A service instance alone cannot share memory with its siblings.
    throw new ConfigError(settings.kvUri.env, 'required for `serve` (distributed mode): set a redis:// URI');
  }
  if (raw.serviceKeyAccepted !== undefined && raw.serviceKey === undefined) {
    // Accepting a key while presenting none would let callers in that this instance could not call back.
    throw new ConfigError(settings.serviceKeyAccepted.env, `needs ${settings.serviceKey.env}`);
  }
  if (config.idpSession.maxSeconds < config.idpSession.idleSeconds) {
    throw new ConfigError(
      settings.idpSessionMax.env,
      `must not be shorter than NEXTAUTH_IDP_SESSION_IDLE (${config.idpSession.idleSeconds}s)`,
    );
  }
  if (config.cookieDomain !== undefined) {
    const host = new URL(config.publicUrl).hostname.toLowerCase();
    if (host !== config.cookieDomain && !host.endsWith(`.${config.cookieDomain}`)) {
      // A browser drops a cookie whose Domain does not cover the host that sets it.
      throw new ConfigError(
        settings.cookieDomain.env,
        `must be the host of NEXTAUTH_PUBLIC_URL (${host}) or a parent domain of it`,
      );
    }
  }
  config.warnings = productionWarnings(config, raw);
  return config;
}

/** FCM and APNs settings, checked together: APNs needs all four parts; test endpoints never in production. */
function mcPushConfig(raw: Raw, production: boolean): McPushConfig {
  const apnsParts = [
    [settings.mcApnsKey.env, raw.mcApnsKey],
    [settings.mcApnsKeyId.env, raw.mcApnsKeyId],
    [settings.mcApnsTeamId.env, raw.mcApnsTeamId],
    [settings.mcApnsTopic.env, raw.mcApnsTopic],
  ] as const;
  const given = apnsParts.filter(([, v]) => v !== undefined);
  if (given.length > 0 && given.length < apnsParts.length) {
    const missing = apnsParts.find(([, v]) => v === undefined)?.[0] ?? '';
    throw new ConfigError(
      missing,
      `required with ${given.map(([env]) => env).join(', ')} (APNs needs the key, key id, team id and topic)`,
    );
  }
  const testOnly = [
    [settings.mcFcmTestEndpoint.env, raw.mcFcmTestEndpoint],
    [settings.mcApnsTestEndpoint.env, raw.mcApnsTestEndpoint],
    [settings.mcPushTestCa.env, raw.mcPushTestCa],
  ] as const;
  for (const [env, value] of testOnly)
    if (value !== undefined && production) throw new ConfigError(env, 'test only: not allowed in production');
  if (raw.mcFcmTestEndpoint && !raw.mcFcmCredentials)
    throw new ConfigError(settings.mcFcmTestEndpoint.env, `needs ${settings.mcFcmCredentials.env}`);
  if (raw.mcApnsTestEndpoint && !raw.mcApnsKey)
    throw new ConfigError(
      settings.mcApnsTestEndpoint.env,
      `needs ${settings.mcApnsKey.env} and the other APNs settings`,
    );
  const override = (e: { host: string; port: number } | undefined): { endpoint?: PushEndpointOverride } =>
    e ? { endpoint: { ...e, ...(raw.mcPushTestCa ? { ca: raw.mcPushTestCa } : {}) } } : {};
  const out: McPushConfig = {};
  if (raw.mcFcmCredentials) {
    const { project_id, client_email, private_key, private_key_id } = raw.mcFcmCredentials;
    out.fcm = {
      serviceAccount: {
        project_id,
        client_email,
        private_key,
        ...(private_key_id ? { private_key_id } : {}),
      },
      ...override(raw.mcFcmTestEndpoint),
    };
  }
  if (raw.mcApnsKey && raw.mcApnsKeyId && raw.mcApnsTeamId && raw.mcApnsTopic) {
    out.apns = {
      key: raw.mcApnsKey,
      keyId: raw.mcApnsKeyId,
      teamId: raw.mcApnsTeamId,
      topic: raw.mcApnsTopic,
      // A sandbox token sent to production APNs comes back BadDeviceToken and would be cleared: follow the
      // deployment kind unless told.
      production: raw.mcApnsProduction ?? production,
      ...override(raw.mcApnsTestEndpoint),
    };
  }
  return out;
}

/** `NEXTAUTH_OIDC_RESOURCES`: each entry an absolute http(s) URI without a fragment (RFC 8707 §2). */
function resourceList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of list) {
    const parsed = URL.parse(entry);
    if (!parsed || !/^https?:$/.test(parsed.protocol) || entry.includes('#')) {
      throw new ConfigError(
        settings.oidcResources.env,
        `expected absolute http(s) URIs without a fragment: ${entry}`,
      );
    }
  }
  if (list.length > 100) throw new ConfigError(settings.oidcResources.env, 'expected at most 100 resources');
  return [...new Set(list)];
}

function productionWarnings(config: Config, raw: Raw): string[] {
  if (!config.production) return [];
  const warnings: string[] = [];
  for (const [key, spec] of Object.entries(settings) as [SettingKey, SettingSpec][]) {
    if (spec.mustSetInProduction && raw[key] === undefined) {
      warnings.push(`${spec.env} is not set: production must not run on a generated or default value`);
    }
  }
  if (config.publicUrl.startsWith('http://')) {
    warnings.push('NEXTAUTH_PUBLIC_URL is plain http: browsers and phones need https in production');
  }
  for (const svc of Object.keys(config.db) as ServiceName[]) {
    if (config.db[svc].uri === undefined) {
      warnings.push(
        `NEXTAUTH_${svc.toUpperCase()}_DB_URI is not set: SQLite is for a single embedded instance`,
      );
    }
  }
  if (config.kvUri === undefined) warnings.push('NEXTAUTH_KV_URI is not set: in-memory KV cannot be shared');
  if (config.kvUri === undefined && config.oidcStorage === 'kv') {
    warnings.push('NEXTAUTH_OIDC_STORAGE=kv on the in-memory KV: OIDC sessions and tokens vanish at restart');
  }
  return warnings;
}
