// Per-channel state of `/ns/mobile`: which server and account, the channel binding, and the login handles.
import type { AuditOrigin } from '../audit/model.js';
import type { ServerIdentity } from '../servers/identity.js';
import type { Session } from '../sessions/model.js';

/** `deleted`: a login channel whose account was deleted on it; every further request is refused. */
export type ChannelKind = 'enrol' | 'login' | 'deleted';

export interface NsChannelContext {
  server: ServerIdentity;
  /** `enrol`: anonymous client, only `enrol.*`; `login`: account key, `login.*` and `account.delete`. */
  kind: ChannelKind;
  /** The account whose key authenticated the channel (null on an enrolment channel). */
  accountId: string | null;
  /** RFC 7638 thumbprint of that key (null on an enrolment channel). */
  keyThumbprint: string | null;
  /** The phone's address and user agent (WebSocket upgrade request), for the audit log. */
  origin: AuditOrigin;
  /** TH8: what attestations on this channel must be bound to. */
  transcriptHash: Uint8Array;
  /**
   * Handles given out by `login.scan` → the session as the scan left it (`scanned`), so confirm and decline
   * need not read it again; never leave the server and die with the channel. Whether a later move happens
   * is still decided by the guarded UPDATE in storage, never by this copy.
   */
  logins: Map<string, Session>;
  /** Handles of push logins opened without the browser's number: they may only be declined. */
  unmatched: Set<string>;
  /** Counts one operation against the per-channel and per-IP limits; throws MessageError `rate_limited`. */
  limit(operation: 'enrol' | 'scan'): Promise<void>;
}

/** Outstanding scanned logins one channel may hold; the oldest handle is dropped beyond it. */
export const maxLoginsPerChannel = 8;

/** The wire shape of a server in NS channel answers. */
export function serverInfo(server: ServerIdentity) {
  return { id: server.globalId, name: server.name, displayName: server.displayName };
}
