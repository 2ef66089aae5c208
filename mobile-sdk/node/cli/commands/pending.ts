// `nextauth-device pending`: what the MC mailbox holds for this device, decrypted (raw payloads for now; push
// login will turn them into approvable requests).
import type { Command } from 'commander';
import type { PendingMessage } from '../../../core/mc/inbox.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

/** One message for scripts: the payload exactly as the sender sealed it, or why it does not open. */
export function messageJson(m: PendingMessage) {
  return {
    id: m.id,
    created_at: new Date(m.createdAt).toISOString(),
    expires_at: new Date(m.expiresAt).toISOString(),
    ...('payload' in m ? { payload: m.payload } : { error: m.error }),
  };
}

export function messageLine(m: PendingMessage): string {
  return `${new Date(m.createdAt).toISOString()}  ${m.id}  ${'payload' in m ? m.payload : `(${m.error})`}`;
}

async function pending(global: GlobalOptions): Promise<void> {
  const sdk = await openDevice(global);
  const inbox = await sdk.openInbox();
  try {
    const list = await inbox.pending();
    output(
      global,
      list.map(messageJson),
      list.length > 0 ? list.map(messageLine).join('\n') : 'No messages.',
    );
  } finally {
    await inbox.close().catch(() => {});
  }
}

export function registerPending(program: Command, global: () => GlobalOptions): void {
  program
    .command('pending')
    .description('list the messages waiting in this device’s MC mailbox (not acknowledged)')
    .action(() => pending(global()));
}
