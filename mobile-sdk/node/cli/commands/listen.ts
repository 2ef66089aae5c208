// `nextauth-device listen`: the Google-free transport — keeps the MC subscription open and prints each message
// (decrypted, once) as it arrives, acknowledging it after printing.
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import { type GlobalOptions, openDevice } from '../device.js';
import { messageJson, messageLine } from './pending.js';

interface ListenOptions {
  count?: string;
}

async function listen(global: GlobalOptions, options: ListenOptions): Promise<void> {
  const count = options.count === undefined ? undefined : Number(options.count);
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1))
    throw new SdkError('invalid_input', '--count must be a positive integer');
  const sdk = await openDevice(global);
  const inbox = await sdk.openInbox();
  let printed = 0;
  let done!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = (err) => (err === undefined ? resolve() : reject(err));
  });
  const stop = () => done();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await inbox.listen(
      (m) => {
        // One line per message; with --json one JSON document per line (NDJSON), for scripts reading a stream.
        process.stdout.write(`${global.json ? JSON.stringify(messageJson(m)) : messageLine(m)}\n`);
        printed++;
        if (count !== undefined && printed >= count) done();
      },
      (err) => done(err),
    );
    process.stderr.write(`listening for messages to app instance ${inbox.instanceId}\n`);
    void inbox.closed.then((err) =>
      done(err ? new SdkError('channel_failed', undefined, { reason: err.code }) : undefined),
    );
    await finished;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    // The last printed message is acknowledged before the channel closes.
    await inbox.settled();
    await inbox.close().catch(() => {});
  }
}

export function registerListen(program: Command, global: () => GlobalOptions): void {
  program
    .command('listen')
    .description('stay connected to the MC and print each message as it arrives (until Ctrl-C)')
    .option('--count <n>', 'exit after printing n messages')
    .action((options: ListenOptions) => listen(global(), options));
}
