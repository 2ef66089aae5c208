// `nextauth-device approve|deny|not-me <id>`: answer a push login or a transaction listed by `pending`.
import type { Command } from 'commander';
import { SdkError } from '../../../core/errors.js';
import { driveFlow } from '../../../core/flows/drive.js';
import type { LoginResult } from '../../../core/flows/login.js';
import type { SignTransactionResult } from '../../../core/flows/sign-transaction.js';
import type { ConfirmDecision } from '../../../core/flows/types.js';
import { cliAnswerer, needsTerminal } from '../answerer.js';
import { type GlobalOptions, openDevice, output } from '../device.js';
import { ask, interactive } from '../terminal.js';
import { accountJson } from './accounts.js';

interface AnswerOptions {
  pin?: string;
  match?: string;
  bio?: boolean;
}

const said: Record<string, string> = {
  approved: 'Login approved',
  declined: 'Login declined',
  not_me: 'Login reported as not started by you',
};

async function parseMatch(value: string | undefined): Promise<number> {
  let typed = value;
  if (typed === undefined) {
    if (!interactive()) throw needsTerminal('pass --match with the number shown in the browser');
    typed = await ask('Number shown in the browser: ');
  }
  const n = Number(typed.trim());
  if (!/^\d{2}$/.test(typed.trim()) || n < 10)
    throw new SdkError('invalid_input', '--match must be the 2-digit number shown in the browser');
  return n;
}

async function answer(
  id: string,
  decision: ConfirmDecision,
  options: AnswerOptions,
  global: GlobalOptions,
): Promise<void> {
  if (decision === 'approve' && !interactive() && options.pin === undefined && !options.bio)
    throw needsTerminal('pass --pin or --bio');
  const sdk = await openDevice(global);
  const inbox = await sdk.openInbox();
  try {
    const pending = await inbox.take(id);
    const { request } = pending;
    if (request.type === 'transaction') {
      if (decision === 'not_me')
        throw new SdkError('invalid_input', 'not-me applies to logins; deny the transaction');
      let signed: SignTransactionResult;
      try {
        signed = await driveFlow(
          sdk.startSignTransaction(request, { secondFactor: options.bio ? 'bio' : 'auto' }),
          cliAnswerer(
            { ...(options.pin !== undefined ? { pin: options.pin } : {}), decision },
            { enrol: false },
          ),
        );
      } catch (err) {
        if (!(err instanceof SdkError && err.code === 'pin_invalid')) await inbox.answered(pending);
        throw err;
      }
      await inbox.answered(pending);
      const a = signed.account;
      output(
        global,
        {
          id,
          type: 'transaction',
          outcome: signed.outcome,
          text: signed.text,
          account: accountJson(a),
          ...(signed.method ? { method: signed.method } : {}),
        },
        `Transaction ${signed.outcome}: ${signed.text}`,
      );
      return;
    }
    const match = decision === 'approve' ? await parseMatch(options.match) : undefined;
    let result: LoginResult;
    try {
      result = await driveFlow(
        sdk.startPushLogin(request, {
          secondFactor: options.bio ? 'bio' : 'auto',
          ...(match !== undefined ? { match } : {}),
        }),
        cliAnswerer(
          { ...(options.pin !== undefined ? { pin: options.pin } : {}), decision },
          { enrol: false },
        ),
      );
    } catch (err) {
      // A wrong number may be typed again (the server counts them); anything else ends this request here.
      const reason = err instanceof SdkError ? err.details.reason : undefined;
      if (reason !== 'wrong_match' && !(err instanceof SdkError && err.code === 'pin_invalid'))
        await inbox.answered(pending);
      throw err;
    }
    await inbox.answered(pending);
    const a = result.account;
    output(
      global,
      {
        id,
        outcome: result.outcome,
        account: accountJson(a),
        ...(result.method ? { method: result.method } : {}),
      },
      `${said[result.outcome]} for ${a.userid} at ${a.server.displayName || a.server.name}`,
    );
  } finally {
    await inbox.settled();
    await inbox.close().catch(() => {});
    await sdk.idle();
  }
}

export function registerAnswers(program: Command, global: () => GlobalOptions): void {
  program
    .command('approve')
    .description(
      'approve a pending push login (type the number the browser shows) or transaction, then the PIN',
    )
    .argument('<id>', 'the request id from `pending`')
    .option('--match <n>', 'the 2-digit number shown in the browser (asked at a terminal if missing)')
    .option('--pin <pin>', 'the device PIN (asked at a terminal if missing)')
    .option('--bio', 'confirm with biometrics (the PIN is used if they cannot be)')
    .action((id: string, options: AnswerOptions) => answer(id, 'approve', options, global()));
  program
    .command('deny')
    .description('decline a pending push login or transaction (no PIN needed)')
    .argument('<id>', 'the request id from `pending`')
    .action((id: string) => answer(id, 'decline', {}, global()));
  program
    .command('not-me')
    .description('report a pending push login you did not start (the server may block further pushes)')
    .argument('<id>', 'the request id from `pending`')
    .action((id: string) => answer(id, 'not_me', {}, global()));
}
