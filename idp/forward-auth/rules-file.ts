// The rules file named by NEXTAUTH_FORWARD_AUTH_RULES: read and validated at start-up (a bad file stops
// start-up naming the rule and field), then watched; a bad edit keeps the rules in force and logs why.
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, settings } from '../../auth-server/common/config/index.js';
import type { Logger } from '../../auth-server/common/logging.js';
import { defaultRuleSet, parseRules, type RuleSet, RulesError } from './rules.js';

export interface RulesSource {
  current(): RuleSet;
  /** Re-reads the file now (the watcher calls it; tests may too). True when new rules took effect. */
  reload(): boolean;
  close(): void;
}

/** Rules when no file is configured: every route needs an authenticated session. */
export function fixedRules(ruleSet: RuleSet = defaultRuleSet): RulesSource {
  return { current: () => ruleSet, reload: () => false, close: () => {} };
}

export function loadRulesFile(file: string, options: { logger: Logger; watch?: boolean }): RulesSource {
  const { logger } = options;
  const read = (): { text: string; rules: RuleSet } => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new RulesError(file, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return { text, rules: parseRules(text, file) };
  };
  let state: { text: string; rules: RuleSet };
  try {
    state = read();
  } catch (err) {
    if (err instanceof RulesError) throw new ConfigError(settings.forwardAuthRules.env, err.message);
    throw err;
  }
  logger.info({ file, rules: state.rules.rules.length }, 'forward-auth rules loaded');

  const reload = (): boolean => {
    try {
      const next = read();
      if (next.text === state.text) return false;
      state = next;
      logger.info({ file, rules: state.rules.rules.length }, 'forward-auth rules reloaded');
      return true;
    } catch (err) {
      logger.error(
        { file, problem: (err as Error).message },
        'forward-auth rules not reloaded, keeping the old ones',
      );
      return false;
    }
  };

  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (options.watch !== false) {
    // The directory, not the file: editors and config-map updates replace the file by renaming over it.
    const name = basename(file);
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name && !changed.startsWith('..')) return;
      // Editors write in several steps; read once they are done.
      clearTimeout(timer);
      timer = setTimeout(reload, 100);
    });
    watcher.on('error', (err) => logger.error({ file, err }, 'forward-auth rules watcher failed'));
  }
  return {
    current: () => state.rules,
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
