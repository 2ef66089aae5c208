// `nextauth start` in-process for system tests: loopback ports, a temporary data directory, silent logs
// (NEXTAUTH_TEST_LOG to see them), and the services a suite needs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../auth-server/common/clock.js';
import { loadConfig, type ServiceName } from '../../auth-server/common/config/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../idp/runtime/runtime.js';
import { freePort } from './http.js';

export interface TestRuntime {
  runtime: Runtime;
  /** The public URL (`http://127.0.0.1:{port}`). */
  url: string;
  dataDir: string;
  /** Stops the runtime and removes the data directory. */
  close(): Promise<void>;
}

export interface TestRuntimeOptions {
  services: ServiceName[];
  /** More NEXTAUTH_* settings (e.g. NEXTAUTH_NS_ROOT_API_KEY, NEXTAUTH_OUTBOUND_ALLOW). */
  env?: Record<string, string>;
  clock?: Clock;
}

export async function startTestRuntime(options: TestRuntimeOptions): Promise<TestRuntime> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-test-'));
  try {
    const [port, adminPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PORT: String(port),
        NEXTAUTH_ADMIN_PORT: String(adminPort),
        NEXTAUTH_HOST: '127.0.0.1',
        NEXTAUTH_PUBLIC_URL: url,
        ...options.env,
      },
      { mode: 'embedded' },
    );
    const runtime = await startRuntime({
      config,
      logger: createLogger({ level: process.env.NEXTAUTH_TEST_LOG ?? 'silent', format: 'json' }),
      services: options.services,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    return {
      runtime,
      url,
      dataDir,
      async close() {
        await runtime.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
