#!/usr/bin/env node
// `nextauth`: the operator's command line — start the embedded product, serve one service, migrate.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../../auth-server/common/config/index.js';
import { registerAccount } from './account.js';
import { registerApiKey } from './apikey.js';
import { registerAudit } from './audit.js';
import { registerConfig } from './config.js';
import { registerMigrate } from './migrate.js';
import { registerOidc } from './oidc.js';
import { registerSaml } from './saml.js';
import { registerSdkConfig } from './sdk-config.js';
import { registerServer } from './server.js';
import { registerSfs } from './sfs.js';
import { registerServe, registerStart } from './start.js';
import { registerUser } from './user.js';
import { registerUsers } from './users.js';
import { registerVerifyReceipt } from './verify-receipt.js';
import { registerWebhook } from './webhook.js';

export function buildProgram(): Command {
  const program = new Command('nextauth')
    .description('nextAuth IdP: QR and push login with OIDC, SAML, forward-auth and REST front doors')
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerServe(program);
  registerMigrate(program);
  registerConfig(program);
  registerSfs(program);
  registerServer(program);
  registerApiKey(program);
  registerUser(program);
  registerUsers(program);
  registerAccount(program);
  registerSdkConfig(program);
  registerOidc(program);
  registerSaml(program);
  registerAudit(program);
  registerWebhook(program);
  registerVerifyReceipt(program);
  return program;
}

/** One line on stderr and a non-zero exit: what an operator needs when start-up cannot go on. */
export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`nextauth: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  fail(err);
}
