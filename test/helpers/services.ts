// Outside services for tests: skipped with a visible notice on a developer's machine, a hard failure in CI.
import type { Context } from 'mocha';

export const inCi = process.env.CI === 'true';

/** Environment variables that point tests at outside services (set by .ci/run). */
export const serviceEnv = {
  postgres: 'NEXTAUTH_TEST_PG_URI',
  mariadb: 'NEXTAUTH_TEST_MYSQL_URI',
  redis: 'NEXTAUTH_TEST_REDIS_URI',
  chromium: 'NEXTAUTH_TEST_CHROMIUM',
} as const;

export type ServiceName = keyof typeof serviceEnv;

const defaults: Partial<Record<ServiceName, string>> = { chromium: '/usr/bin/chromium' };

/**
 * Returns the service's address, or skips the suite (developer machine) / throws (CI=true) when the
 * service is not configured or does not answer `probe`. Call from a mocha `before` hook with `this`.
 */
export async function requireService(
  ctx: Context,
  name: ServiceName,
  probe: (address: string) => Promise<unknown>,
): Promise<string> {
  const variable = serviceEnv[name];
  const address = process.env[variable] ?? defaults[name];
  let problem: string | undefined;
  if (!address) {
    problem = `${variable} is not set`;
  } else {
    try {
      await probe(address);
    } catch (err) {
      problem = `${name} at ${variable} did not answer: ${(err as Error).message}`;
    }
  }
  if (problem === undefined && address) return address;
  if (inCi) throw new Error(`required test service missing (CI=true): ${problem}`);
  process.stderr.write(`\n  [skipped] ${ctx.test?.parent?.fullTitle() ?? name}: ${problem}\n`);
  ctx.skip();
}
