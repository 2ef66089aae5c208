// No Docker engine runs here: docker/Dockerfile and docker/compose.yaml are checked against what the code
// accepts (the CLI's commands, the configuration schema, the ports) and against the topology the system
// tests run (test/helpers/topology.ts): four services, several instances each, routing by path, readiness
// checks, peers by service name, the internal endpoints not routed from outside.
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { Command } from 'commander';
import { parse } from 'yaml';
import { loadConfig, serviceNames } from '../../auth-server/common/config/index.js';
import { settings } from '../../auth-server/common/config/schema.js';
import { registerMigrate } from '../../idp/admin/cli/migrate.js';
import { registerServe, registerStart } from '../../idp/admin/cli/start.js';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

interface ComposeService {
  image?: string;
  restart?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  labels?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

const envNames = new Set(Object.values(settings).map((s) => s.env));
const secretEnvNames = new Set(
  Object.values(settings)
    .filter((s) => (s as { secret?: boolean }).secret)
    .map((s) => s.env),
);

/** Compose's `${VAR:?message}` interpolation, with a value for every variable. */
const interpolate = (text: string) => text.replace(/\$\{([A-Z_]+)(?::\?[^}]*)?\}/g, 'example-password-0123');

describe('docker: compose.yaml and Dockerfile (linted, no engine)', () => {
  let compose: Compose;
  let dockerfile: string;
  const nextauthServices = ['idp', 'ns', 'sfs', 'mc'] as const;

  before(async () => {
    compose = parse(await read('docker/compose.yaml'), { merge: true }) as Compose;
    dockerfile = await read('docker/Dockerfile');
  });

  it('has Traefik, PostgreSQL, Redis, a one-shot migration and the four services', () => {
    expect(Object.keys(compose.services).sort()).to.deep.equal(
      ['idp', 'mc', 'migrate', 'ns', 'postgres', 'redis', 'sfs', 'traefik'].sort(),
    );
    expect(compose.services.traefik?.image).to.match(/^traefik:v3/);
    expect(compose.services.postgres?.image).to.match(/^postgres:/);
    expect(compose.services.redis?.image).to.match(/^redis:/);
  });

  it('runs `nextauth serve <svc>` per service (two replicas) and `nextauth migrate` once before them', () => {
    const program = new Command().exitOverride();
    registerStart(program);
    registerServe(program);
    registerMigrate(program);
    const commands = program.commands.map((c) => c.name());
    for (const svc of nextauthServices) {
      const service = compose.services[svc];
      expect(service?.command, svc).to.deep.equal(['serve', svc]);
      expect(commands).to.include('serve');
      expect(serviceNames).to.include(svc);
      expect(service?.deploy?.replicas, svc).to.be.at.least(2);
      expect(service?.build?.dockerfile).to.equal('docker/Dockerfile');
      expect(service?.depends_on?.migrate?.condition).to.equal('service_completed_successfully');
      // Replicas start together: none of them may migrate.
      for (const key of Object.keys(service?.environment ?? {}))
        expect(key).to.not.match(/ENABLE_MIGRATIONS/);
    }
    expect(compose.services.migrate?.command).to.deep.equal(['migrate']);
    expect(commands).to.include('migrate');
    expect(compose.services.migrate?.restart).to.equal('no');
  });

  it('every NEXTAUTH_ variable is a setting of the schema; secrets come from files the service mounts', () => {
    for (const name of [...nextauthServices, 'migrate']) {
      const service = compose.services[name] as ComposeService;
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (key.endsWith('_FILE')) {
          const base = key.slice(0, -'_FILE'.length);
          expect(secretEnvNames.has(base), `${name}: ${key} (no file variant)`).to.equal(true);
          const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1] ?? '';
          expect(service.secrets, `${name}: ${key}`).to.include(secret);
          expect(compose.secrets[secret], secret).to.have.property('file');
        } else {
          expect(envNames.has(key), `${name}: ${key} is not a setting`).to.equal(true);
        }
      }
    }
  });

  it('the configuration loads as `serve` loads it, with the peer URLs each service needs', () => {
    const needs: Record<(typeof nextauthServices)[number], string[]> = {
      idp: ['NEXTAUTH_NS_URL', 'NEXTAUTH_IDP_DB_URI', 'NEXTAUTH_SECRET_KEY_FILE'],
      ns: ['NEXTAUTH_SFS_URL', 'NEXTAUTH_MC_URL', 'NEXTAUTH_NS_DB_URI', 'NEXTAUTH_SECRET_KEY_FILE'],
      sfs: ['NEXTAUTH_NS_URL', 'NEXTAUTH_SFS_DB_URI', 'NEXTAUTH_SFS_PIN_PEPPER_FILE'],
      mc: ['NEXTAUTH_MC_DB_URI'],
    };
    for (const svc of nextauthServices) {
      const env = Object.fromEntries(
        Object.entries(compose.services[svc]?.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
      );
      for (const need of [
        ...needs[svc],
        'NEXTAUTH_KV_URI',
        'NEXTAUTH_SERVICE_KEY_FILE',
        'NEXTAUTH_PUBLIC_URL',
      ])
        expect(env, svc).to.have.property(need);
      // Peers by service name on the public port the Dockerfile exposes.
      for (const peer of ['NS', 'SFS', 'MC'] as const) {
        const url = env[`NEXTAUTH_${peer}_URL`];
        if (url) expect(url).to.equal(`http://${peer.toLowerCase()}:3000`);
      }
      const config = loadConfig(env, {
        mode: 'service',
        readFile: (path) => `file-secret-${path.replaceAll('/', '-')}-0123456789abcdef`,
      });
      expect(config.db[svc].uri).to.match(/^postgres:\/\/nextauth:.+@postgres:5432\/nextauth_/);
      expect(config.db[svc].migrate).to.equal(false);
      expect(config.trustProxy).to.equal(true);
      expect(config.port).to.equal(3000);
      expect(config.adminPort).to.equal(9613);
    }
  });

  it('Traefik routes by path to ready instances and never routes /{svc}/internal/ from outside', () => {
    const labelOf = (svc: string, suffix: string) =>
      (compose.services[svc]?.labels ?? [])
        .find((l) => l.startsWith(`traefik.http.${suffix}=`))
        ?.split('=')
        .slice(1)
        .join('=');
    for (const svc of nextauthServices) {
      const label = (suffix: string) => labelOf(svc, suffix);
      expect(label(`services.${svc}.loadbalancer.server.port`)).to.equal('3000');
      expect(label(`services.${svc}.loadbalancer.healthcheck.port`)).to.equal('9613');
      expect(label(`services.${svc}.loadbalancer.healthcheck.path`)).to.equal('/readyz');
      const rule = label(`routers.${svc}.rule`) ?? '';
      if (svc === 'idp') {
        expect(rule).to.not.include('PathPrefix');
      } else {
        expect(rule).to.include(`PathPrefix(\`/${svc}/\`)`);
        expect(rule).to.include(`!PathPrefix(\`/${svc}/internal/\`)`);
        // More specific than the IdP's catch-all.
        expect(Number(label(`routers.${svc}.priority`))).to.be.above(
          Number(labelOf('idp', 'routers.idp.priority')),
        );
      }
    }
  });

  it('the PostgreSQL init script creates the databases the URIs name', async () => {
    const init = await read('docker/distributed/postgres-init.sql');
    const created = new Set([
      ...[...init.matchAll(/CREATE DATABASE (\w+)/g)].map((m) => m[1]),
      compose.services.postgres?.environment?.POSTGRES_DB,
    ]);
    for (const svc of nextauthServices) {
      const uri = interpolate(
        compose.services[svc]?.environment?.[`NEXTAUTH_${svc.toUpperCase()}_DB_URI`] ?? '',
      );
      expect(created.has(new URL(uri).pathname.slice(1)), uri).to.equal(true);
    }
    expect(compose.services.postgres?.volumes).to.include(
      './distributed/postgres-init.sql:/docker-entrypoint-initdb.d/10-nextauth.sql:ro',
    );
  });

  it('Dockerfile: one image, non-root, the nextauth CLI as entrypoint, readiness as health check', async () => {
    const lines = dockerfile
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const finalStage = lines.slice(lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true));
    const users = finalStage.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).to.equal('USER node');
    const entrypoint = JSON.parse(finalStage.find((l) => l.startsWith('ENTRYPOINT '))?.slice(11) ?? '[]');
    expect(entrypoint).to.deep.equal(['node', 'dist/idp/admin/cli/main.js']);
    // The compiled entrypoint comes from the CLI's source (tsconfig.build.json compiles idp/ into dist/).
    await read('idp/admin/cli/main.ts');
    expect(finalStage.find((l) => l.startsWith('EXPOSE '))).to.equal('EXPOSE 3000 9613');
    expect(finalStage.find((l) => l.startsWith('HEALTHCHECK '))).to.include('http://127.0.0.1:9613/readyz');
    // The admin listener must be reachable for the proxy's readiness checks from other containers.
    expect(finalStage.find((l) => l.startsWith('ENV '))).to.include('NEXTAUTH_ADMIN_HOST=0.0.0.0');
  });
});
