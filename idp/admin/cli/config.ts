// `nextauth config`: checks the environment the way start-up would, or prints the settings table.
import type { Command } from 'commander';
import { configTableMarkdown, loadConfig, type Mode } from '../../../auth-server/common/config/index.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('validate the NEXTAUTH_* environment, or print the documented settings')
    .option('--markdown', 'print the settings table (as in the README)')
    .option('--mode <mode>', 'embedded or service', 'embedded')
    .action((opts: { markdown?: boolean; mode: string }) => {
      if (opts.markdown) {
        process.stdout.write(`${configTableMarkdown()}\n`);
        return;
      }
      if (opts.mode !== 'embedded' && opts.mode !== 'service')
        throw new Error('--mode must be embedded or service');
      const config = loadConfig(process.env, { mode: opts.mode as Mode });
      for (const w of config.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write('configuration ok\n');
    });
}
