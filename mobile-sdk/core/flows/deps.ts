// What a flow needs from the SDK around it: ports, stores, the transport factory and the SFS session opener.

import type { AccountStore } from '../accounts/store.js';
import type { TransportFactory } from '../channels.js';
import type { Clock } from '../clock.js';
import type { SfsSession } from '../instance/sfs-session.js';
import type { Biometrics, KeyStore, Storage } from '../ports.js';

export interface FlowDeps {
  keyStore: KeyStore;
  /** Small documents (the biometric key's record). */
  storage: Storage;
  biometrics: Biometrics;
  accounts: AccountStore;
  transports: TransportFactory;
  clock: Clock;
  /** Opens a registered SFS session (the SDK configuration must be verified by then). */
  openSfs: () => Promise<SfsSession>;
  /** Sent with `enrol.complete` so the server can show the user which device holds the account. */
  deviceDescription?: string;
  clientVersion?: string;
  /** The signed SDK configuration (compact JWS), sent with `enrol.complete` for servers that allow only some apps. */
  sdkConfig?: string;
}
