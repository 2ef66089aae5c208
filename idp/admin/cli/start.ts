// `nextauth start` (embedded: everything in one process) and `nextauth serve <svc>` (one service).
import type { Command } from 'commander';
import {
  type Config,
  loadConfig,
  type ServiceName,
  serviceNames,
} from '../../../auth-server/common/config/index.js';
import { createLogger, type Logger } from '../../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../runtime/runtime.js';

async function run(
  config: Config,
  services: readonly ServiceName[],
  onReady: (rt: Runtime) => void,
): Promise<void> {
  const logger = createLogger({ ...config.log, name: 'nextauth' });
  for (const warning of config.warnings) logger.warn(`PRODUCTION WARNING: ${warning}`);
  const started = performance.now();
  const runtime = await startRuntime({ config, logger, services });
  logger.info(
    {
      port: runtime.publicListener.port,
      adminPort: runtime.adminListener.port,
      services,
      ms: Math.round(performance.now() - started),
    },
    'listening',
  );
  onReady(runtime);
  handleSignals(runtime, logger);
}

function handleSignals(runtime: Runtime, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    runtime.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run IdP, NS, SFS and MC in one process (embedded mode, SQLite, nothing else to install)')
    .action(async () => {
      const config = loadConfig(process.env, { mode: 'embedded', isTty: process.stdout.isTTY });
      await run(config, serviceNames, (rt) => {
        const c = rt.config;
        process.stdout.write(
          `${[
            '',
            `  nextAuth IdP is running (embedded mode, data in ${c.dataDir})`,
            `  Open        ${c.publicUrl}/`,
            `  Demo app    ${c.publicUrl}/demo  (log in through the IdP and see who you are)`,
            `  Health      http://${c.adminHost === '0.0.0.0' ? '127.0.0.1' : c.adminHost}:${rt.adminListener.port}/readyz`,
            '  Virtual server `default` is ready. Stop with Ctrl-C.',
            '',
          ].join('\n')}\n`,
        );
      });
    });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run one service alone (distributed mode: shared database and Redis)')
    .argument('<service>', `one of: ${serviceNames.join(', ')}`)
    .action(async (service: string) => {
      if (!(serviceNames as readonly string[]).includes(service)) {
        throw new Error(`unknown service "${service}": expected one of ${serviceNames.join(', ')}`);
      }
      const config = loadConfig(process.env, { mode: 'service', isTty: process.stdout.isTTY });
      await run(config, [service as ServiceName], () => {});
    });
}
