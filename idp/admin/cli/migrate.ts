// `nextauth migrate`: brings each service's database to the latest schema, or shows what is pending.
import type { Command } from 'commander';
import { loadConfig, type ServiceName, serviceNames } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest, migrationStatus } from '../../../auth-server/common/db/migrate.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("apply pending migrations to each service's database")
    .option('--service <svc...>', `only these services (${serviceNames.join(', ')})`)
    .option('--status', 'list applied and pending migrations without changing anything')
    .option('--json', 'machine-readable output')
    .action(async (opts: { service?: string[]; status?: boolean; json?: boolean }) => {
      const unknown = (opts.service ?? []).filter((s) => !(serviceNames as readonly string[]).includes(s));
      if (unknown.length > 0) throw new Error(`unknown service(s): ${unknown.join(', ')}`);
      const services = (opts.service ?? serviceNames) as ServiceName[];
      const config = loadConfig(process.env, { mode: 'embedded' });
      const report: Record<string, { applied: string[]; pending: string[]; ran?: string[] }> = {};
      for (const service of services) {
        const db = openDb({ uri: config.db[service].uri, dataDir: config.dataDir, service });
        try {
          if (opts.status) {
            report[service] = await migrationStatus(db, service);
          } else {
            const ran = await migrateLatest(db, service);
            report[service] = { ...(await migrationStatus(db, service)), ran };
          }
        } finally {
          await db.destroy();
        }
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      for (const [service, r] of Object.entries(report)) {
        const ran = r.ran ? `, ran ${r.ran.length}` : '';
        process.stdout.write(`${service}: ${r.applied.length} applied, ${r.pending.length} pending${ran}\n`);
      }
    });
}
