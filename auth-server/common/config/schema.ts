// Every NEXTAUTH_* setting in one documented place: name, default, description and validation side by side.
// The README's configuration table is generated from this list (`nextauth config --markdown`).
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';

const portString = z
  .string()
  .regex(/^\d+$/, 'expected a port number between 1 and 65535')
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, 'expected a port between 1 and 65535')
      .max(65535, 'expected a port between 1 and 65535'),
  );

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = z.url({ error: 'expected an absolute http(s) URL' }).refine((u) => /^https?:\/\//.test(u), {
  error: 'expected an absolute http(s) URL',
});

const dbUri = z
  .string()
  .regex(
    /^(sqlite:|postgres(ql)?:\/\/|mysql:\/\/|mariadb:\/\/)/,
    'expected sqlite:, postgres://, mysql:// or mariadb:// URI',
  );

const kvUri = z
  .string()
  .regex(
    /^(memory:\/\/|rediss?:\/\/|redis\+sentinel:\/\/)/,
    'expected memory://, redis://, rediss:// or redis+sentinel:// URI',
  );

const positiveMs = z.coerce.number({ error: 'expected a number of milliseconds' }).int().min(0);

const secret = z.string().min(16, 'expected at least 16 characters');

/** The service-account JSON a Firebase project hands out (only the fields the FCM sender uses are checked). */
const serviceAccountJson = z
  .string()
  .max(16 * 1024, 'expected a service-account JSON file of at most 16 KiB')
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected the JSON of a Firebase service-account key file' });
      return z.NEVER;
    }
  })
  .pipe(
    z.object(
      {
        type: z.literal('service_account', { error: 'expected "type": "service_account"' }).optional(),
        project_id: z.string({ error: 'project_id is missing' }).min(1, 'project_id is empty'),
        client_email: z.string({ error: 'client_email is missing' }).min(1, 'client_email is empty'),
        private_key: z
          .string({ error: 'private_key is missing' })
          .regex(/-----BEGIN PRIVATE KEY-----/, 'private_key is not a PEM private key'),
        private_key_id: z.string().optional(),
      },
      { error: 'expected the JSON of a Firebase service-account key file' },
    ),
  );

/** An APNs auth key (.p8): PKCS#8 PEM of an EC P-256 key. */
const apnsKey = z.string().refine(
  (pem) => {
    try {
      const key = createPrivateKey(pem);
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    } catch {
      return false;
    }
  },
  { error: 'expected the .p8 APNs auth key (PEM, EC P-256)' },
);

const appleId = z.string().regex(/^[A-Z0-9]{10}$/, 'expected 10 upper-case letters or digits');

/** host:port of a test-only fake. */
const endpoint = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port')
  .transform((value) => {
    const at = value.lastIndexOf(':');
    return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
  });

/** `90s`, `30m`, `1h`, `1d` or plain seconds, to whole seconds; at least a minute, at most 400 days. */
const duration = z
  .string()
  .regex(/^\d{1,9}[smhd]?$/, 'expected a duration such as 90s, 30m, 1h, 1d or seconds')
  .transform((v) => {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[v.at(-1) as string];
    return unit === undefined ? Number(v) : Number(v.slice(0, -1)) * unit;
  })
  .pipe(
    z
      .number()
      .min(60, 'expected at least 1 minute')
      .max(400 * 86400, 'expected at most 400 days (browsers cap cookies there)'),
  );

/**
 * A cookie Domain: a registrable-looking host name (letters, digits, hyphens, dots between labels, at least
 * two labels), lower-cased, without the leading dot that RFC 6265 ignores anyway. No IP address: browsers
 * never widen a cookie across addresses.
 */
const cookieDomain = z
  .string()
  .transform((v) => v.toLowerCase().replace(/^\./, ''))
  .pipe(
    z
      .string()
      .max(253, 'expected a domain name of at most 253 characters')
      .regex(
        /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
        'expected a domain name with at least two labels, such as example.com (no scheme, port, path or IP address)',
      ),
  );

export interface SettingSpec<T extends z.ZodType = z.ZodType> {
  env: string;
  schema: T;
  description: string;
  /** Shown in docs; `undefined` means "not set". Computed defaults are described in the text. */
  default?: string;
  /** Read also from `<env>_FILE`; never printed. */
  secret?: boolean;
  /** A production start that leaves this unset gets a loud warning. */
  mustSetInProduction?: boolean;
}

function setting<T extends z.ZodType>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

export const settings = {
  env: setting({
    env: 'NEXTAUTH_ENV',
    schema: z.enum(['development', 'production', 'test'], {
      error: 'expected development, production or test',
    }),
    default: 'development',
    description:
      'Deployment kind. `production` turns missing security settings into loud warnings. NODE_ENV=production implies it.',
  }),
  publicUrl: setting({
    env: 'NEXTAUTH_PUBLIC_URL',
    schema: url,
    description:
      'External base URL of the IdP (issuer prefix, links in QR codes). Default `http://localhost:<NEXTAUTH_PORT>`.',
    mustSetInProduction: true,
  }),
  host: setting({
    env: 'NEXTAUTH_HOST',
    schema: z.string().min(1),
    default: '0.0.0.0',
    description: 'Address the public HTTP listener binds to.',
  }),
  port: setting({
    env: 'NEXTAUTH_PORT',
    schema: portString,
    default: '3000',
    description: 'Public HTTP port.',
  }),
  adminHost: setting({
    env: 'NEXTAUTH_ADMIN_HOST',
    schema: z.string().min(1),
    default: '127.0.0.1',
    description:
      'Address of the admin listener (`/healthz`, `/readyz`, `/metrics`); loopback unless a scraper needs it.',
  }),
  adminPort: setting({
    env: 'NEXTAUTH_ADMIN_PORT',
    schema: portString,
    default: '9613',
    description: 'Admin port for health, readiness and Prometheus metrics.',
  }),
  dataDir: setting({
    env: 'NEXTAUTH_DATA_DIR',
    schema: z.string().min(1),
    default: './data',
    description: 'Directory for SQLite files and generated secrets in embedded mode (created 0700).',
  }),
  nsDbUri: setting({
    env: 'NEXTAUTH_NS_DB_URI',
    schema: dbUri,
    secret: true,
    description:
      'NS database. Unset: SQLite `<data dir>/ns.sqlite`. `postgres://…` or `mysql://…` for distributed mode.',
  }),
  sfsDbUri: setting({
    env: 'NEXTAUTH_SFS_DB_URI',
    schema: dbUri,
    secret: true,
    description: 'SFS database (as NS).',
  }),
  mcDbUri: setting({
    env: 'NEXTAUTH_MC_DB_URI',
    schema: dbUri,
    secret: true,
    description: 'MC database (as NS).',
  }),
  idpDbUri: setting({
    env: 'NEXTAUTH_IDP_DB_URI',
    schema: dbUri,
    secret: true,
    description: 'IdP database (as NS).',
  }),
  nsDbMigrations: setting({
    env: 'NEXTAUTH_NS_DB_ENABLE_MIGRATIONS',
    schema: bool,
    description:
      'Migrate the NS database at start. Default true in embedded mode (`start`), false for `serve`.',
  }),
  sfsDbMigrations: setting({
    env: 'NEXTAUTH_SFS_DB_ENABLE_MIGRATIONS',
    schema: bool,
    description: 'As NS, for SFS.',
  }),
  mcDbMigrations: setting({
    env: 'NEXTAUTH_MC_DB_ENABLE_MIGRATIONS',
    schema: bool,
    description: 'As NS, for MC.',
  }),
  idpDbMigrations: setting({
    env: 'NEXTAUTH_IDP_DB_ENABLE_MIGRATIONS',
    schema: bool,
    description: 'As NS, for the IdP.',
  }),
  kvUri: setting({
    env: 'NEXTAUTH_KV_URI',
    schema: kvUri,
    secret: true,
    description:
      'Shared KV, pub/sub and rate limits. Unset: in-process memory (embedded only). `redis://`, `rediss://` or `redis+sentinel://h1:26379,h2:26379/master`.',
  }),
  kvPrefix: setting({
    env: 'NEXTAUTH_KV_PREFIX',
    schema: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9:_.-]*$/, 'expected letters, digits, `:`, `_`, `.` or `-`'),
    default: 'nextauth:',
    description:
      'Prepended to every KV key and pub/sub channel, so several deployments (or test runs) can share one Redis.',
  }),
  logLevel: setting({
    env: 'NEXTAUTH_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected fatal, error, warn, info, debug, trace or silent',
    }),
    default: 'info',
    description: 'Log level.',
  }),
  logFormat: setting({
    env: 'NEXTAUTH_LOG_FORMAT',
    schema: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }),
    description: 'Log format. Default: `pretty` on a terminal, `json` otherwise.',
  }),
  nsRootApiKey: setting({
    env: 'NEXTAUTH_NS_ROOT_API_KEY',
    schema: secret,
    secret: true,
    mustSetInProduction: true,
    description:
      'Root API key of NS. Unset in embedded mode: generated once into `<data dir>/root-api-key` (0600).',
  }),
  secretKey: setting({
    env: 'NEXTAUTH_SECRET_KEY',
    schema: secret,
    secret: true,
    mustSetInProduction: true,
    description:
      'Key that encrypts secrets at rest (signing keys). Unset in embedded mode: generated once into `<data dir>/secret-key` (0600).',
  }),
  pinPepper: setting({
    env: 'NEXTAUTH_SFS_PIN_PEPPER',
    schema: secret,
    secret: true,
    mustSetInProduction: true,
    description:
      'SFS pepper for PIN verifiers; never stored in the database. Unset in embedded mode: generated once into `<data dir>/pin-pepper` (0600).',
  }),
  cookieDomain: setting({
    env: 'NEXTAUTH_COOKIE_DOMAIN',
    schema: cookieDomain,
    description:
      "Widen the IdP session cookie (OIDC, SAML and forward-auth share it) to this domain and its subdomains, e.g. `example.com`; it must be the public URL's host or a parent of it (default: host-only).",
  }),
  idpSessionIdle: setting({
    env: 'NEXTAUTH_IDP_SESSION_IDLE',
    schema: duration,
    default: '1h',
    description:
      'An IdP session unused this long ends (`90s`, `30m`, `1h`, `1d` or plain seconds; at least 1 minute).',
  }),
  idpSessionMax: setting({
    env: 'NEXTAUTH_IDP_SESSION_MAX',
    schema: duration,
    default: '12h',
    description:
      'An IdP session ends this long after the login that made it, however busy (same format; at least the idle timeout).',
  }),
  forwardAuthRules: setting({
    env: 'NEXTAUTH_FORWARD_AUTH_RULES',
    schema: z.string().min(1).max(4096),
    description:
      'YAML file of forward-auth access rules and identity headers (docs/forward-auth.md), validated at start and reloaded on change. Unset: every route needs a login.',
  }),
  outboundAllow: setting({
    env: 'NEXTAUTH_OUTBOUND_ALLOW',
    schema: z.string(),
    default: '',
    description:
      'Comma-separated hosts/CIDRs that outbound calls (webhooks, back-channel logout, CIBA ping, metadata URLs) may reach besides public addresses; http webhooks only to these hosts.',
  }),
  oidcResources: setting({
    env: 'NEXTAUTH_OIDC_RESOURCES',
    schema: z.string().max(4096, 'expected at most 4096 characters'),
    default: '',
    description:
      'Comma-separated resource server URIs (RFC 8707 `resource`) that get JWT access tokens (RFC 9068, `typ: at+jwt`, `aud` = the URI) signed with the OIDC signing keys of the virtual server; any other `resource` is `invalid_target`.',
  }),
  oidcStorage: setting({
    env: 'NEXTAUTH_OIDC_STORAGE',
    schema: z.enum(['sql', 'kv'], { error: 'expected sql or kv' }),
    default: 'sql',
    description:
      'Where OIDC codes, tokens, sessions and grants live: `sql` (the IdP database) or `kv` (NEXTAUTH_KV_URI, for Redis: on the in-memory KV they vanish at restart). Clients and signing keys stay in SQL.',
  }),
  trustProxy: setting({
    env: 'NEXTAUTH_TRUST_PROXY',
    schema: bool,
    default: 'false',
    description:
      'Trust `X-Forwarded-For`/`-Proto` from a reverse proxy (client IPs for rate limits and audit). Only behind a proxy that overwrites them.',
  }),
  geoipDb: setting({
    env: 'NEXTAUTH_GEOIP_DB',
    schema: z.string().min(1),
    description:
      'MaxMind City or Country database (`.mmdb`, e.g. GeoLite2-City), read at start: the browser location the phone shows at login. Unset: only "local network" for private addresses.',
  }),
  mcFcmCredentials: setting({
    env: 'NEXTAUTH_MC_FCM_CREDENTIALS',
    schema: serviceAccountJson,
    secret: true,
    description:
      'MC push over FCM: the Firebase service-account key JSON (best as `_FILE`). Unset: instances registered with FCM get no push and rely on pull.',
  }),
  mcApnsKey: setting({
    env: 'NEXTAUTH_MC_APNS_KEY',
    schema: apnsKey,
    secret: true,
    description:
      'MC push over APNs: the `.p8` auth key (token-based auth; best as `_FILE`). Needs the key id, team id and topic too. Unset: instances registered with APNs get no push and rely on pull.',
  }),
  mcApnsKeyId: setting({
    env: 'NEXTAUTH_MC_APNS_KEY_ID',
    schema: appleId,
    description: 'Key id of the APNs auth key (10 characters, from the Apple developer account).',
  }),
  mcApnsTeamId: setting({
    env: 'NEXTAUTH_MC_APNS_TEAM_ID',
    schema: appleId,
    description: 'Apple developer team id that issued the APNs auth key.',
  }),
  mcApnsTopic: setting({
    env: 'NEXTAUTH_MC_APNS_TOPIC',
    schema: z.string().regex(/^[A-Za-z0-9.-]{1,255}$/, 'expected the app bundle id, e.g. org.example.app'),
    description: 'APNs topic: the bundle id of the app.',
  }),
  mcApnsProduction: setting({
    env: 'NEXTAUTH_MC_APNS_PRODUCTION',
    schema: bool,
    description:
      'Production APNs (`true`) or the sandbox (`false`, development builds of the app). Default: true when NEXTAUTH_ENV is production.',
  }),
  mcFcmTestEndpoint: setting({
    env: 'NEXTAUTH_MC_FCM_TEST_ENDPOINT',
    schema: endpoint,
    description:
      'Test only (refused in production): `host:port` that every FCM and Google OAuth connection goes to instead (a local fake).',
  }),
  mcApnsTestEndpoint: setting({
    env: 'NEXTAUTH_MC_APNS_TEST_ENDPOINT',
    schema: endpoint,
    description: 'Test only (refused in production): `host:port` of an APNs stand-in.',
  }),
  mcPushTestCa: setting({
    env: 'NEXTAUTH_MC_PUSH_TEST_CA',
    schema: z.string().regex(/-----BEGIN CERTIFICATE-----/, 'expected a PEM certificate'),
    secret: true,
    description:
      "Test only (refused in production): PEM of the CA that signed the test endpoints' certificates.",
  }),
  serviceKey: setting({
    env: 'NEXTAUTH_SERVICE_KEY',
    schema: z.string().min(32, 'expected at least 32 characters'),
    secret: true,
    description:
      "Distributed mode: the key every service presents to the others' internal endpoints (`/{svc}/internal/v1/...`); the same value for all services, required by `serve`. Unset in embedded mode: no internal endpoints.",
  }),
  serviceKeyAccepted: setting({
    env: 'NEXTAUTH_SERVICE_KEY_ACCEPTED',
    schema: z.string().min(32, 'expected at least 32 characters'),
    secret: true,
    description:
      'Distributed mode: one more key the internal endpoints accept (never sent), for rotating `NEXTAUTH_SERVICE_KEY` without a moment of refused calls (docs/operations.md, Key rotation).',
  }),
  nsUrl: setting({
    env: 'NEXTAUTH_NS_URL',
    schema: url,
    description:
      'Distributed mode: base URL at which the other services reach NS (e.g. `http://ns:3000`); needed by `serve idp` and `serve sfs`.',
  }),
  sfsUrl: setting({
    env: 'NEXTAUTH_SFS_URL',
    schema: url,
    description: 'Distributed mode: base URL at which NS reaches the SFS; needed by `serve ns`.',
  }),
  mcUrl: setting({
    env: 'NEXTAUTH_MC_URL',
    schema: url,
    description: 'Distributed mode: base URL at which NS reaches the MC; needed by `serve ns`.',
  }),
  shutdownTimeoutMs: setting({
    env: 'NEXTAUTH_SHUTDOWN_TIMEOUT_MS',
    schema: positiveMs,
    default: '10000',
    description: 'How long SIGTERM waits for in-flight requests before closing connections.',
  }),
} as const;

export type SettingKey = keyof typeof settings;
