// `nextauth verify-receipt FILE`: checks a transaction receipt offline (no server is asked) and says which
// check failed; `--server-key` pins the NS virtual server key that must have countersigned it.
import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { maxReceiptBytes, verifyReceipt } from '../../../auth-server/ns/transactions/receipt.js';
import { printable } from './printable.js';

interface Options {
  serverKey?: string;
  json?: boolean;
}

/** Reads at most maxReceiptBytes + 1: a bigger file is refused before any parsing. */
async function readCapped(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxReceiptBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxReceiptBytes) throw new Error(`${file}: larger than ${maxReceiptBytes} bytes`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function run(file: string, options: Options): Promise<void> {
  let input: unknown;
  try {
    input = JSON.parse(await readCapped(file));
  } catch (err) {
    throw new Error(`cannot read the receipt: ${(err as Error).message}`);
  }
  const verdict = await verifyReceipt(input, {
    ...(options.serverKey !== undefined ? { serverKeyThumbprint: options.serverKey } : {}),
  });
  if (!verdict.ok) {
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({ ok: false, check: verdict.check, detail: verdict.detail })}\n`,
      );
    else process.stderr.write(`nextauth: receipt NOT valid: ${verdict.check}: ${verdict.detail}\n`);
    process.exit(1);
  }
  const r = verdict.receipt;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ok: true, tid: r.transaction.tid, text: r.rendered.text, serverKey: verdict.serverKeyThumbprint })}\n`,
    );
    return;
  }
  process.stdout.write(
    `${[
      `Receipt valid: transaction ${r.transaction.tid} at ${printable(r.transaction.server)}`,
      `  approved  ${r.transaction.approvedAt} by account ${printable(r.transaction.account)} (${printable(r.transaction.userid)}) with ${r.attestation.method}`,
      `  signed    ${printable(r.rendered.text)}`,
      `  server key ${verdict.serverKeyThumbprint}${options.serverKey ? ' (as expected)' : ' (compare it with the server\u2019s: --server-key)'}`,
    ].join('\n')}\n`,
  );
}

export function registerVerifyReceipt(program: Command): void {
  program
    .command('verify-receipt')
    .description(
      'check a transaction receipt offline: hashes, account signature, attestation, countersignature',
    )
    .argument('<file>', 'the receipt JSON (GET /ns/api/v2/transactions/{tid}/receipt)')
    .option(
      '--server-key <thumbprint>',
      "the NS virtual server key's RFC 7638 thumbprint that must have countersigned",
    )
    .option('--json', 'machine-readable output')
    .action((file: string, options: Options) => run(file, options));
}
