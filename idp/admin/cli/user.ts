// `nextauth user enrol-link`: asks the running system's NS REST API for a one-time enrol link (DESIGN.md §5).
import { type Command, InvalidArgumentError } from 'commander';
import QRCode from 'qrcode';
import { z } from 'zod';
import { restClient } from './rest-client.js';

// Shared with the other REST commands (audit): kept importable from here.
export { apiBaseUrl, rootApiKey } from './rest-client.js';

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds');
  return Number(value);
}

const linkSchema = z.object({
  uri: z.string().startsWith('nextauth://enrol?'),
  expiresAt: z.string(),
  keyFingerprint: z.string(),
  visualHash: z.object({ emoji: z.array(z.string()), text: z.string() }).loose(),
  page: z.object({ url: z.string(), viewToken: z.string(), expiresAt: z.string() }).optional(),
});

interface EnrolLinkOptions {
  server: string;
  user: string;
  ttl?: number;
  info?: string;
  page?: boolean;
  json?: boolean;
  url?: string;
}

/** Adds to an existing `user` command when another module registered one (e.g. `user set`). */
export function registerUser(program: Command): void {
  const user =
    program.commands.find((c) => c.name() === 'user') ??
    program.command('user').description('NS users and their phones');
  user
    .command('enrol-link')
    .description('create a one-time link (and QR code) that enrols a phone for a user')
    .requiredOption('--server <name>', 'virtual server', 'default')
    .requiredOption('--user <userid>', 'the userid the phone will log in as')
    .option('--ttl <seconds>', 'validity, 30 to 900 (default 600)', integer)
    .option(
      '--info <text>',
      'announceinfo: text the app shows and keeps with the account (e.g. the full name)',
    )
    .option(
      '--page',
      'also make an enrol page (QR, server key pictures, progress) and print its URL instead of the URI',
    )
    .option(
      '--json',
      'machine-readable output: {"uri", "expiresAt", "keyFingerprint", "visualHash"} (+ "page" with --page)',
    )
    .option('--url <url>', 'public URL of the running system (default NEXTAUTH_PUBLIC_URL)')
    .action(async (opts: EnrolLinkOptions) => {
      const client = await restClient(opts);
      const link = await client.call({
        method: 'POST',
        path: '/ns/api/v2/enrol-links',
        body: {
          server: opts.server,
          userid: opts.user,
          ...(opts.ttl !== undefined ? { ttlSeconds: opts.ttl } : {}),
          ...(opts.info !== undefined ? { announceInfo: opts.info } : {}),
          ...(opts.page ? { page: true } : {}),
        },
        schema: linkSchema,
        what: 'enrol link',
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(link)}\n`);
        return;
      }
      if (link.page) {
        // The page URL alone on the first line; it is for the user's browser, so no QR here.
        process.stdout.write(`${link.page.url}\n`);
        if (process.stdout.isTTY)
          process.stdout.write(
            `Send this page to the user: it opens in one browser only, until ${link.page.expiresAt}.\n`,
          );
        return;
      }
      // The URI alone on the first line, so scripts can `head -1`; the QR only for a person at a terminal.
      process.stdout.write(`${link.uri}\n`);
      if (process.stdout.isTTY) {
        process.stdout.write(await QRCode.toString(link.uri, { type: 'terminal', small: true }));
        process.stdout.write(`Scan with the nextAuth app; valid until ${link.expiresAt}.\n`);
        // The app shows the same pictures after scanning: a different set means a different server.
        process.stdout.write(`Server key: ${link.visualHash.emoji.join(' ')}  (${link.visualHash.text})\n`);
      }
    });
}
