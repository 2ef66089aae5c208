// `nextauth-device pending`: the requests waiting in this device's MC mailbox (push logins), decrypted, in
// the DESIGN §5 shape; notices found on the way (logouts) are recorded in the history and acknowledged.
import type { Command } from 'commander';
import { transactionIdOf } from '../../../../protocol/mobile/mc-payloads.js';
import { toSdkError } from '../../../core/errors.js';
import type { TransactionContext } from '../../../core/flows/types.js';
import type { PendingMessage, PendingRequest } from '../../../core/mc/inbox.js';
import { type GlobalOptions, openDevice, output } from '../device.js';

/** One raw message for `listen --json`: the payload exactly as the sender sealed it, or why it does not open. */
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

/** `{id, type, server, binding_message, display, expires_at}` (DESIGN.md §5). */
export function requestJson(r: PendingRequest, preview?: TransactionContext) {
  const { request } = r;
  const common = {
    id: r.message.id,
    type: request.type,
    server: request.server.name,
    expires_at: new Date(request.expiresAt).toISOString(),
  };
  if (request.type === 'transaction')
    return {
      ...common,
      // A CIBA request's own binding message; else the text stands for it (the REST transactions).
      binding_message: preview?.bindingMessage ?? preview?.text ?? null,
      display: {
        tid: transactionIdOf(request),
        userid: request.userid,
        server: request.server.displayName || request.server.name,
        ns: request.server.nsUrl,
        ...(preview
          ? {
              text: preview.text,
              template: preview.template,
              locale: preview.locale,
              values: preview.values,
              signed: preview.canonical,
              ...(preview.bindingMessage !== undefined ? { binding_message: preview.bindingMessage } : {}),
              pin_required: preview.pinRequired,
            }
          : {}),
      },
    };
  return {
    ...common,
    binding_message: request.info,
    display: {
      userid: request.userid,
      server: request.server.displayName || request.server.name,
      ns: request.server.nsUrl,
      browser: request.browser.userAgent,
      ip: request.browser.ip,
      location: request.browser.location,
    },
  };
}

function requestLine(r: PendingRequest, show: boolean, preview?: TransactionContext): string {
  const { request } = r;
  const head = `${r.message.id}  ${request.type}  ${request.userid} at ${request.server.displayName || request.server.name}  until ${new Date(request.expiresAt).toISOString()}`;
  if (!show) return head;
  if (request.type === 'transaction') {
    if (!preview) return head;
    // Exactly what is being signed: the text shown on the phone, then the JCS that the account key signs.
    return [
      head,
      `    ${preview.text}`,
      ...(preview.bindingMessage !== undefined ? [`    binding message: ${preview.bindingMessage}`] : []),
      `    signs: ${preview.canonical}`,
    ].join('\n');
  }
  const b = request.browser;
  const from = [b.userAgent, b.ip && b.location ? `${b.ip} (${b.location})` : (b.ip ?? b.location)]
    .filter(Boolean)
    .join(', ');
  return [head, request.info ? `    "${request.info}"` : '', from ? `    from ${from}` : '']
    .filter(Boolean)
    .join('\n');
}

/** What `transaction.get` answers for a transaction this phone can no longer answer. */
const closedTransaction = new Set(['transaction_answered', 'transaction_expired', 'unknown_transaction']);

async function pending(global: GlobalOptions, options: { show?: boolean }): Promise<void> {
  const sdk = await openDevice(global);
  const inbox = await sdk.openInbox();
  try {
    const list: PendingRequest[] = [];
    // A transaction's text and signed data come from its server (the message only names it).
    const previews = new Map<string, TransactionContext>();
    for (const r of await inbox.requests()) {
      if (r.request.type === 'transaction' && (options.show === true || global.json === true)) {
        try {
          previews.set(r.message.id, await sdk.previewTransaction(r.request));
        } catch (err) {
          // Answered meanwhile (another phone of the user, or this one through a QR) or gone: nothing is left
          // to answer, so the message goes rather than failing the whole listing.
          // The server's refusal arrives as the channel's MessageError; its code is the reason.
          const reason = toSdkError(err).details.reason;
          if (reason === undefined || !closedTransaction.has(reason)) throw err;
          await inbox.answered(r);
          continue;
        }
      }
      list.push(r);
    }
    output(
      global,
      list.map((r) => requestJson(r, previews.get(r.message.id))),
      list.length > 0
        ? list.map((r) => requestLine(r, options.show === true, previews.get(r.message.id))).join('\n')
        : 'No pending requests.',
    );
  } finally {
    await inbox.settled();
    await inbox.close().catch(() => {});
    await sdk.idle();
  }
}

export function registerPending(program: Command, global: () => GlobalOptions): void {
  program
    .command('pending')
    .description(
      'list the push logins and transactions waiting for this device (answer with approve or deny)',
    )
    .option(
      '--show',
      "also show what it is about: a login's browser and place, or exactly what a transaction signs",
    )
    .action((options: { show?: boolean }) => pending(global(), options));
}
