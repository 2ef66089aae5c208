// Every documented NS REST v2 operation, and the response schemas the OpenAPI document names.

import { auditExportLineSchema } from '../audit-routes.js';
import type { ApiOperation } from '../openapi/operation.js';
import {
  accountOperations,
  accountPageSchema,
  accountSchema,
  userAccountsDeletedSchema,
} from './accounts.js';
import { auditOperations } from './audit.js';
import { enrolOperations } from './enrol.js';
import { openApiOperations } from './openapi.js';
import { pushOperations } from './push.js';
import {
  apiKeyListSchema,
  apiKeySchema,
  createdApiKeySchema,
  serverListSchema,
  serverOperations,
  virtualServerSchema,
} from './servers.js';
import { loginStatusSchema, sessionOperations } from './sessions.js';
import {
  createdTransactionSchema,
  transactionOperations,
  transactionTypeListSchema,
  transactionWireSchema,
} from './transactions.js';
import { userDeletedSchema, userOperations, userPageSchema, userSchema } from './users.js';
import {
  createdWebhookSchema,
  deliveryListSchema,
  webhookListSchema,
  webhookOperations,
  webhookSchema,
} from './webhooks.js';

export const nsApiOperations: readonly ApiOperation[] = [
  ...Object.values(sessionOperations),
  ...Object.values(enrolOperations),
  ...Object.values(serverOperations),
  ...Object.values(userOperations),
  ...Object.values(accountOperations),
  ...Object.values(auditOperations),
  ...Object.values(webhookOperations),
  ...Object.values(openApiOperations),
  ...Object.values(pushOperations),
  ...Object.values(transactionOperations),
];

export const nsApiComponents = {
  AuditEvent: auditExportLineSchema,
  LoginStatus: loginStatusSchema,
  VirtualServer: virtualServerSchema,
  VirtualServerList: serverListSchema,
  ApiKey: apiKeySchema,
  ApiKeyList: apiKeyListSchema,
  CreatedApiKey: createdApiKeySchema,
  User: userSchema,
  UserPage: userPageSchema,
  UserDeleted: userDeletedSchema,
  Account: accountSchema,
  AccountPage: accountPageSchema,
  UserAccountsDeleted: userAccountsDeletedSchema,
  Webhook: webhookSchema,
  WebhookList: webhookListSchema,
  CreatedWebhook: createdWebhookSchema,
  WebhookDeliveryList: deliveryListSchema,
  Transaction: transactionWireSchema,
  CreatedTransaction: createdTransactionSchema,
  TransactionTypeList: transactionTypeListSchema,
};
