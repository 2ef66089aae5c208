#!/usr/bin/env node
// `nextauth-device`: a virtual phone on the command line — init, enrol, login, accounts, change-pin, delete,
// history, bio, upgrade, pending, listen (DESIGN.md §5).
import { Command, CommanderError } from 'commander';
import { SdkError } from '../../core/errors.js';
import { registerAccounts } from './commands/accounts.js';
import { registerAnswers } from './commands/answer.js';
import { registerBio } from './commands/bio.js';
import { registerChangePin } from './commands/change-pin.js';
import { registerDelete } from './commands/delete.js';
import { registerEnrol } from './commands/enrol.js';
import { registerHistory } from './commands/history.js';
import { registerInit } from './commands/init.js';
import { registerListen } from './commands/listen.js';
import { registerLogin } from './commands/login.js';
import { registerPending } from './commands/pending.js';
import { registerSign } from './commands/sign.js';
import { registerUpgrade } from './commands/upgrade.js';
import { type GlobalOptions, settleDevices } from './device.js';

export function buildProgram(): Command {
  const program = new Command('nextauth-device')
    .description('nextAuth virtual phone: enrol accounts and answer QR logins with a PIN or biometrics')
    .option('--home <dir>', 'device directory (default $NEXTAUTH_DEVICE_HOME or ~/.nextauth-device)')
    .option('--json', 'machine-readable output')
    .option('--push-token <provider:token>', 'register this push token at the MC (fcm:TOKEN or apns:TOKEN)')
    .showHelpAfterError()
    .exitOverride();
  // commander reads program options after the subcommand too (`login URI --home DIR`).
  const global = () => program.opts<GlobalOptions>();
  registerInit(program, global);
  registerEnrol(program, global);
  registerLogin(program, global);
  registerAccounts(program, global);
  registerChangePin(program, global);
  registerDelete(program, global);
  registerHistory(program, global);
  registerBio(program, global);
  registerUpgrade(program, global);
  registerPending(program, global);
  registerListen(program, global);
  registerAnswers(program, global);
  registerSign(program, global);
  return program;
}

/** One line on stderr, never a stack: `nextauth-device: pin_invalid (2 attempts left)`. */
function fail(err: unknown): never {
  const message = err instanceof SdkError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`nextauth-device: ${message}\n`);
  process.exit(1);
}

try {
  await buildProgram().parseAsync(process.argv);
  await settleDevices();
  // Open sockets or timers must not keep a finished command alive.
  process.exit(0);
} catch (err) {
  // A failed flow has its history entry too.
  await settleDevices().catch(() => {});
  if (err instanceof CommanderError) process.exit(err.exitCode);
  fail(err);
}
