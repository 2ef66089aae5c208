// What the NS HTTP routes need: the services they hand work to and the knobs tests turn.
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { AccountAdminService } from '../accounts/admin.js';
import type { AccountService } from '../accounts/service.js';
import type { ApiKeyAdminService } from '../apikeys/admin.js';
import type { ApiKeyVerifier } from '../apikeys/verify.js';
import type { AuditService } from '../audit/service.js';
import type { ReturningUserCookies } from '../push/returning-user.js';
import type { PushService } from '../push/service.js';
import type { RecoveryService } from '../recovery/service.js';
import type { ServerAdminService } from '../servers/admin.js';
import type { VirtualServerRepository } from '../servers/repository.js';
import type { SessionService } from '../sessions/service.js';
import type { TransactionService } from '../transactions/service.js';
import type { UserService } from '../users/service.js';
import type { WebhookService } from '../webhooks/service.js';
import type { SseOptions } from './sse.js';

export interface NsApiDeps {
  sessions: SessionService;
  accounts: AccountService;
  servers: VirtualServerRepository;
  apiKeys: ApiKeyVerifier;
  /** Virtual server management (REST `/api/v2/servers`). */
  serverAdmin: ServerAdminService;
  /** API key management (REST `/api/v2/servers/{server}/apikeys`). */
  apiKeyAdmin: ApiKeyAdminService;
  /** Users of a server (REST `/api/v2/servers/{server}/users`). */
  users: UserService;
  /** Accounts (phones) of a server (REST `/api/v2/servers/{server}/accounts`). */
  accountAdmin: AccountAdminService;
  /** Security events: recorded by the services, read by `GET /ns/api/v2/audit`. */
  audit: AuditService;
  /** Webhook subscriptions of a server (REST `/api/v2/servers/{server}/webhooks`). */
  webhooks: WebhookService;
  /** Recovery codes (the devices page and `/ns/servers/{server}/recovery`); absent: no server offers them. */
  recovery?: RecoveryService;
  /** Push login (`provokeLogin`, the login page's "send a push"); absent: those routes are not mounted. */
  push?: PushService;
  /** Transaction signing (REST `/api/v2/transactions`, transaction types); absent: not mounted. */
  transactions?: TransactionService;
  /** The login page's "send a push" cookie (set at a successful browser login); with `push`. */
  returningUsers?: ReturningUserCookies;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  publicUrl: string;
  limits?: {
    /** Browser sessions started per client IP and minute (default 60: room for ≥ 30 logins a minute). */
    browserSessionsPerMinute?: number;
    /** Sessions created through REST per API key and client IP and minute (default 600). */
    apiSessionsPerMinute?: number;
    /** Enrol links created per API key and client IP and minute (default 120). */
    apiEnrolLinksPerMinute?: number;
    /** The devices and recovery pages' limits (device-routes.ts `defaultDeviceLimits`). */
    devices?: Partial<{
      enrolLinksPerUserHour: number;
      recoveryCodeSetsPerUserHour: number;
      recoverPerIpMinute: number;
      recoverPerUserHour: number;
      writesPerUserMinute: number;
    }>;

    /** Enrol pages opened per client IP and minute (default 30). */
    enrolViewsPerMinute?: number;
  };
  sse?: SseOptions;
}

export const defaultLimits = { browserSessionsPerMinute: 60, apiSessionsPerMinute: 600 } as const;
