// The options every per-server management command shares: which virtual server, JSON output, which system.
import type { Command } from 'commander';

export interface ServerCommandOptions {
  server: string;
  json?: boolean;
  url?: string;
}

/** Adds `--server` (default `default`), `--json` (its output described by `json`) and `--url`. */
export function withServerOptions(command: Command, json: string): Command {
  return command
    .requiredOption('--server <name>', 'virtual server', 'default')
    .option('--json', `machine-readable output: ${json}`)
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)');
}

/** `/ns/api/v2/servers/{server}`, the server name URL-encoded. */
export const serverApiPath = (server: string): string => `/ns/api/v2/servers/${encodeURIComponent(server)}`;
