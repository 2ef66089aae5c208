// What one service offers another (DESIGN.md §3: only through public interfaces). Embedded mode passes the
// in-process implementations; distributed mode will pass HTTP clients of the same interfaces.
import type { JWK } from 'jose';

export interface SfsPeer {
  /** `iss` of the SFS's attestations. */
  readonly issuer: string;
  /** The keys whose attestations NS trusts (JWKs with `kid`). */
  publicKeys(): Promise<JWK[]>;
  /** Registers (or updates) an NS virtual server at the SFS by its global id, with its PIN policy. */
  registerServer(input: {
    id: string;
    policy?: {
      maxAttempts?: number;
      lockoutSeconds?: number;
      maxLockoutSeconds?: number;
      blockAfterLockouts?: number;
    };
  }): Promise<void>;
}

export interface Peers {
  sfs?: SfsPeer;
}
