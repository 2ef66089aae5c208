import { expect } from 'chai';
import {
  ConfigError,
  configTableMarkdown,
  loadConfig,
  settings,
} from '../../../../auth-server/common/config/index.js';

const embedded = { mode: 'embedded' as const };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config: loadConfig', () => {
  it('has working defaults for embedded mode', () => {
    const c = loadConfig({}, embedded);
    expect(c.port).to.equal(3000);
    expect(c.adminPort).to.equal(9613);
    expect(c.publicUrl).to.equal('http://localhost:3000');
    expect(c.db.ns).to.deep.equal({ uri: undefined, migrate: true });
    expect(c.kvUri).to.equal(undefined);
    expect(c.kvPrefix).to.equal('nextauth:');
    expect(c.log).to.deep.equal({ level: 'info', format: 'json' });
    expect(c.warnings).to.deep.equal([]);
    expect(c.trustProxy).to.equal(false);
    expect(loadConfig({ NEXTAUTH_TRUST_PROXY: 'true' }, embedded).trustProxy).to.equal(true);
  });

  it('derives the public URL from the port and strips trailing slashes', () => {
    expect(loadConfig({ NEXTAUTH_PORT: '8080' }, embedded).publicUrl).to.equal('http://localhost:8080');
    expect(loadConfig({ NEXTAUTH_PUBLIC_URL: 'https://id.example.com/' }, embedded).publicUrl).to.equal(
      'https://id.example.com',
    );
  });

  it('rejects a non-numeric port with one line naming the variable', () => {
    const err = configError(() => loadConfig({ NEXTAUTH_PORT: 'abc' }, embedded));
    expect(err.message).to.match(/^NEXTAUTH_PORT: expected a port number/);
    expect(err.message).to.contain('"abc"');
    expect(err.message).not.to.contain('\n');
  });

  for (const [variable, value] of [
    ['NEXTAUTH_PORT', '70000'],
    ['NEXTAUTH_ADMIN_PORT', '-1'],
    ['NEXTAUTH_PUBLIC_URL', 'ftp://x'],
    ['NEXTAUTH_LOG_LEVEL', 'loud'],
    ['NEXTAUTH_LOG_FORMAT', 'xml'],
    ['NEXTAUTH_NS_DB_URI', 'oracle://x'],
    ['NEXTAUTH_KV_URI', 'memcached://x'],
    ['NEXTAUTH_NS_DB_ENABLE_MIGRATIONS', 'maybe'],
    ['NEXTAUTH_ENV', 'staging'],
    ['NEXTAUTH_TRUST_PROXY', 'sometimes'],
    ['NEXTAUTH_KV_PREFIX', 'has space'],
  ] as const) {
    it(`rejects ${variable}=${value}`, () => {
      expect(configError(() => loadConfig({ [variable]: value }, embedded)).variable).to.equal(variable);
    });
  }

  it('reads secrets from *_FILE and never echoes a bad secret', () => {
    const files: Record<string, string> = {
      '/run/secrets/key': `${'k'.repeat(32)}\n`,
      '/run/secrets/short': 'abc',
    };
    const readFile = (p: string) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    };
    const c = loadConfig({ NEXTAUTH_NS_ROOT_API_KEY_FILE: '/run/secrets/key' }, { ...embedded, readFile });
    expect(c.nsRootApiKey).to.equal('k'.repeat(32));
    const short = configError(() =>
      loadConfig({ NEXTAUTH_NS_ROOT_API_KEY_FILE: '/run/secrets/short' }, { ...embedded, readFile }),
    );
    expect(short.message).to.equal('NEXTAUTH_NS_ROOT_API_KEY: expected at least 16 characters');
    const missing = configError(() =>
      loadConfig({ NEXTAUTH_SECRET_KEY_FILE: '/run/secrets/none' }, { ...embedded, readFile }),
    );
    expect(missing.message).to.equal('NEXTAUTH_SECRET_KEY_FILE: cannot read /run/secrets/none: ENOENT');
  });

  it('refuses a secret given both directly and as a file', () => {
    const err = configError(() =>
      loadConfig(
        { NEXTAUTH_KV_URI: 'redis://x', NEXTAUTH_KV_URI_FILE: '/f' },
        { ...embedded, readFile: () => '' },
      ),
    );
    expect(err.message).to.contain('not both');
  });

  it('only reads *_FILE for secrets', () => {
    const c = loadConfig({ NEXTAUTH_PORT_FILE: '/nope' }, embedded);
    expect(c.port).to.equal(3000);
  });

  it('requires a shared KV for a distributed service and does not migrate by default', () => {
    expect(configError(() => loadConfig({}, { mode: 'service' })).variable).to.equal('NEXTAUTH_KV_URI');
    const c = loadConfig({ NEXTAUTH_KV_URI: 'redis://127.0.0.1:6379' }, { mode: 'service' });
    expect(c.db.ns.migrate).to.equal(false);
    expect(
      loadConfig(
        { NEXTAUTH_KV_URI: 'redis://r', NEXTAUTH_NS_DB_ENABLE_MIGRATIONS: 'true' },
        { mode: 'service' },
      ).db.ns.migrate,
    ).to.equal(true);
  });

  it('rejects the admin port equal to the public port', () => {
    expect(configError(() => loadConfig({ NEXTAUTH_PORT: '9613' }, embedded)).variable).to.equal(
      'NEXTAUTH_ADMIN_PORT',
    );
  });

  it('warns loudly when production runs on defaults that must change', () => {
    const c = loadConfig({ NODE_ENV: 'production' }, embedded);
    expect(c.production).to.equal(true);
    const text = c.warnings.join('\n');
    for (const v of [
      'NEXTAUTH_PUBLIC_URL',
      'NEXTAUTH_NS_ROOT_API_KEY',
      'NEXTAUTH_SECRET_KEY',
      'NEXTAUTH_SFS_PIN_PEPPER',
      'NEXTAUTH_KV_URI',
    ]) {
      expect(text).to.contain(v);
    }
    const ok = loadConfig(
      {
        NEXTAUTH_ENV: 'production',
        NEXTAUTH_PUBLIC_URL: 'https://id.example.com',
        NEXTAUTH_NS_ROOT_API_KEY: 'r'.repeat(32),
        NEXTAUTH_SECRET_KEY: 's'.repeat(32),
        NEXTAUTH_SFS_PIN_PEPPER: 'p'.repeat(32),
        NEXTAUTH_KV_URI: 'redis://redis:6379',
        NEXTAUTH_NS_DB_URI: 'postgres://db/ns',
        NEXTAUTH_SFS_DB_URI: 'postgres://db/sfs',
        NEXTAUTH_MC_DB_URI: 'postgres://db/mc',
        NEXTAUTH_IDP_DB_URI: 'postgres://db/idp',
      },
      { mode: 'service' },
    );
    expect(ok.warnings).to.deep.equal([]);
  });

  it('reads NEXTAUTH_OIDC_RESOURCES as a list of absolute URIs, refusing fragments and non-URIs', () => {
    expect(loadConfig({}, embedded).oidcResources).to.deep.equal([]);
    const ok = loadConfig(
      { NEXTAUTH_OIDC_RESOURCES: ' https://api.example/a , https://b.example,,https://b.example' },
      embedded,
    );
    expect(ok.oidcResources).to.deep.equal(['https://api.example/a', 'https://b.example']);
    for (const bad of [
      'api.example',
      'https://api.example/#x',
      'urn:example:api',
      'https://ok.example,ftp://x.example',
    ]) {
      const err = configError(() => loadConfig({ NEXTAUTH_OIDC_RESOURCES: bad }, embedded));
      expect(err.variable, bad).to.equal('NEXTAUTH_OIDC_RESOURCES');
    }
  });

  it('reads NEXTAUTH_OIDC_STORAGE (sql by default, or kv) and stops at anything else with one line', () => {
    expect(loadConfig({}, embedded).oidcStorage).to.equal('sql');
    expect(loadConfig({ NEXTAUTH_OIDC_STORAGE: 'kv' }, embedded).oidcStorage).to.equal('kv');
    for (const bad of ['redis', 'SQL', 'memory', 'sql,kv']) {
      const err = configError(() => loadConfig({ NEXTAUTH_OIDC_STORAGE: bad }, embedded));
      expect(err.message, bad).to.equal(`NEXTAUTH_OIDC_STORAGE: expected sql or kv (got "${bad}")`);
    }
    // kv on the in-memory store is fine for a test, but production is told the tokens will not survive.
    const production = loadConfig({ NEXTAUTH_ENV: 'production', NEXTAUTH_OIDC_STORAGE: 'kv' }, embedded);
    expect(production.warnings.some((w) => w.startsWith('NEXTAUTH_OIDC_STORAGE=kv'))).to.equal(true);
  });

  it('reads NEXTAUTH_COOKIE_DOMAIN as a parent domain of the public host, refusing anything else with one line', () => {
    const base = { NEXTAUTH_PUBLIC_URL: 'https://idp.example.com' };
    expect(loadConfig(base, embedded).cookieDomain).to.equal(undefined);
    expect(loadConfig({ ...base, NEXTAUTH_COOKIE_DOMAIN: '.Example.COM' }, embedded).cookieDomain).to.equal(
      'example.com',
    );
    expect(
      loadConfig({ ...base, NEXTAUTH_COOKIE_DOMAIN: 'idp.example.com' }, embedded).cookieDomain,
    ).to.equal('idp.example.com');
    for (const bad of [
      'https://example.com',
      'example.com:443',
      'example.com/x',
      'com',
      '10.0.0.1',
      'a..b',
      '-a.com',
    ]) {
      const err = configError(() => loadConfig({ ...base, NEXTAUTH_COOKIE_DOMAIN: bad }, embedded));
      expect(err.variable, bad).to.equal('NEXTAUTH_COOKIE_DOMAIN');
      expect(err.message, bad).to.contain('expected a domain name');
    }
    for (const foreign of ['other.com', 'ample.com', 'sub.idp.example.com']) {
      const err = configError(() => loadConfig({ ...base, NEXTAUTH_COOKIE_DOMAIN: foreign }, embedded));
      expect(err.message, foreign).to.equal(
        'NEXTAUTH_COOKIE_DOMAIN: must be the host of NEXTAUTH_PUBLIC_URL (idp.example.com) or a parent domain of it',
      );
    }
  });

  it('reads the IdP session timeouts as durations (1h idle, 12h at most by default)', () => {
    expect(loadConfig({}, embedded).idpSession).to.deep.equal({ idleSeconds: 3600, maxSeconds: 43200 });
    expect(
      loadConfig({ NEXTAUTH_IDP_SESSION_IDLE: '30m', NEXTAUTH_IDP_SESSION_MAX: '1d' }, embedded).idpSession,
    ).to.deep.equal({ idleSeconds: 1800, maxSeconds: 86400 });
    expect(loadConfig({ NEXTAUTH_IDP_SESSION_IDLE: '900' }, embedded).idpSession.idleSeconds).to.equal(900);
    for (const bad of ['1w', '-1h', '1.5h', 'h', '30s']) {
      const err = configError(() => loadConfig({ NEXTAUTH_IDP_SESSION_IDLE: bad }, embedded));
      expect(err.variable, bad).to.equal('NEXTAUTH_IDP_SESSION_IDLE');
    }
    const shorter = configError(() =>
      loadConfig({ NEXTAUTH_IDP_SESSION_IDLE: '2h', NEXTAUTH_IDP_SESSION_MAX: '1h' }, embedded),
    );
    expect(shorter.message).to.equal(
      'NEXTAUTH_IDP_SESSION_MAX: must not be shorter than NEXTAUTH_IDP_SESSION_IDLE (7200s)',
    );
  });

  it('accepts a second service key only beside the service key, and at least as long', () => {
    const key = 'k'.repeat(32);
    const next = 'n'.repeat(32);
    expect(loadConfig({}, embedded).acceptedServiceKeys).to.deep.equal([]);
    expect(loadConfig({ NEXTAUTH_SERVICE_KEY: key }, embedded).acceptedServiceKeys).to.deep.equal([key]);
    expect(
      loadConfig({ NEXTAUTH_SERVICE_KEY: key, NEXTAUTH_SERVICE_KEY_ACCEPTED: next }, embedded)
        .acceptedServiceKeys,
    ).to.deep.equal([key, next]);
    const alone = configError(() => loadConfig({ NEXTAUTH_SERVICE_KEY_ACCEPTED: next }, embedded));
    expect(alone.message).to.equal('NEXTAUTH_SERVICE_KEY_ACCEPTED: needs NEXTAUTH_SERVICE_KEY');
    const short = configError(() =>
      loadConfig({ NEXTAUTH_SERVICE_KEY: key, NEXTAUTH_SERVICE_KEY_ACCEPTED: 'short' }, embedded),
    );
    expect(short.variable).to.equal('NEXTAUTH_SERVICE_KEY_ACCEPTED');
    expect(short.message).to.not.contain('short"');
  });

  it('documents every setting in the generated table', () => {
    const table = configTableMarkdown();
    for (const s of Object.values(settings)) expect(table).to.contain(`\`${s.env}\``);
  });
});
