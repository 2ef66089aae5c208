// `nextauth-device history`: what happened on this device (logins, enrolments, PIN changes, deletions).
import type { Command } from 'commander';
import type { HistoryEntry } from '../../../core/history/store.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

export function historyJson(e: HistoryEntry) {
  return { ...e, at: new Date(e.at).toISOString() };
}

function line(e: HistoryEntry): string {
  const what = [e.outcome, e.reason, e.error ? e.error.code : undefined].filter(Boolean).join(' ');
  const detail = e.error?.reason ? ` (${e.error.reason})` : '';
  const where = e.server ? ` at ${e.server.name} (${e.server.nsUrl})` : '';
  return `${new Date(e.at).toISOString()}  ${e.flow}  ${what}${detail}${e.userid ? `  ${e.userid}` : ''}${where}`;
}

async function history(global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const entries = await sdk.history();
  output(
    global,
    entries.map(historyJson),
    entries.length > 0 ? entries.map(line).join('\n') : 'No history yet.',
  );
}

export function registerHistory(program: Command, global: () => GlobalOptions): void {
  program
    .command('history')
    .description('the outcomes of past flows on this device, newest first (kept 90 days)')
    .action(() => history(global()));
}
