// Per-channel state of `/ns/mobile`: which server and account, the channel binding, and the login handles.
import type { AuditOrigin } from '../audit/model.js';
import type { ServerIdentity } from '../servers/identity.js';

export type ChannelKind = 'enrol' | 'login';

export interface NsChannelContext {
  server: ServerIdentity;
  /** `enrol`: anonymous client, only `enrol.*`; `login`: account key, only `login.*`. */
  kind: ChannelKind;
  /** The account whose key authenticated the channel (null on an enrolment channel). */
  accountId: string | null;
  /** The phone's address and user agent (WebSocket upgrade request), for the audit log. */
  origin: AuditOrigin;
  /** TH8: what attestations on this channel must be bound to. */
  transcriptHash: Uint8Array;
  /** Handles given out by `login.scan` → session ids; never leave the server and die with the channel. */
  logins: Map<string, string>;
  /** Counts one operation against the per-channel and per-IP limits; throws MessageError `rate_limited`. */
  limit(operation: 'enrol' | 'scan'): Promise<void>;
}

/** Outstanding scanned logins one channel may hold; the oldest handle is dropped beyond it. */
export const maxLoginsPerChannel = 8;

/** The wire shape of a server in NS channel answers. */
export function serverInfo(server: ServerIdentity) {
  return { id: server.globalId, name: server.name, displayName: server.displayName };
}
