// NS migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';
import * as virtualServers from './0001_virtual_servers.js';
import * as sessions from './0002_sessions.js';
import * as serverIdentityKeys from './0003_server_identity_keys.js';
import * as accounts from './0004_accounts.js';
import * as auditLog from './0005_audit_log.js';
import * as serverSettings from './0006_server_settings.js';
import * as users from './0007_users.js';
import * as accountLastPush from './0008_account_last_push.js';
import * as webhooks from './0009_webhooks.js';
import * as userContext from './0010_user_context.js';
import * as sessionDeclineReason from './0011_session_decline_reason.js';
import * as serverBranding from './0012_server_branding.js';
import * as recoveryCodes from './0013_recovery_codes.js';
import * as enrolViews from './0014_enrol_views.js';
import * as sessionScanAccount from './0015_session_scan_account.js';
import * as pushLogin from './0016_push_login.js';
import * as auditAppendOnlyMysql from './0017_audit_append_only_mysql.js';

import * as transactions from './0018_transactions.js';

export const migrations: readonly Migration[] = [
  { name: '0001_virtual_servers', up: virtualServers.up, down: virtualServers.down },
  { name: '0002_sessions', up: sessions.up, down: sessions.down },
  { name: '0003_server_identity_keys', up: serverIdentityKeys.up, down: serverIdentityKeys.down },
  { name: '0004_accounts', up: accounts.up, down: accounts.down },
  { name: '0005_audit_log', up: auditLog.up, down: auditLog.down },
  { name: '0006_server_settings', up: serverSettings.up, down: serverSettings.down },
  { name: '0007_users', up: users.up, down: users.down },
  { name: '0008_account_last_push', up: accountLastPush.up, down: accountLastPush.down },
  { name: '0009_webhooks', up: webhooks.up, down: webhooks.down },
  { name: '0010_user_context', up: userContext.up, down: userContext.down },
  { name: '0011_session_decline_reason', up: sessionDeclineReason.up, down: sessionDeclineReason.down },
  { name: '0012_server_branding', up: serverBranding.up, down: serverBranding.down },
  { name: '0013_recovery_codes', up: recoveryCodes.up, down: recoveryCodes.down },
  { name: '0014_enrol_views', up: enrolViews.up, down: enrolViews.down },
  { name: '0015_session_scan_account', up: sessionScanAccount.up, down: sessionScanAccount.down },
  { name: '0016_push_login', up: pushLogin.up, down: pushLogin.down },
  { name: '0017_audit_append_only_mysql', up: auditAppendOnlyMysql.up, down: auditAppendOnlyMysql.down },

  { name: '0018_transactions', up: transactions.up, down: transactions.down },
];
