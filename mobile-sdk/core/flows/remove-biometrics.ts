// REMOVE_BIOMETRICS: the biometric key leaves the device, then the SFS forgets its public key. No PIN.
import { forgetBioKey, readBioRecord } from '../biometrics/bio-key.js';
import type { FlowDeps } from './deps.js';
import { Flow, type FlowOutcome } from './flow.js';

export interface RemoveBiometricsResult {
  /** A biometric key was deleted on this device. */
  local: boolean;
  /** The SFS had a public key for this app instance and deleted it. */
  sfs: boolean;
}

export class RemoveBiometricsFlow extends Flow<RemoveBiometricsResult> {
  constructor(private readonly deps: FlowDeps) {
    super('remove_biometrics');
  }

  outcomeOf(result: RemoveBiometricsResult): FlowOutcome {
    return result.local || result.sfs
      ? { outcome: 'BIO_REMOVED' }
      : { outcome: 'BIO_REMOVED', reason: 'not_registered' };
  }

  protected async run(): Promise<RemoveBiometricsResult> {
    // The device first: the user's "stop using my fingerprint" holds even when the SFS cannot be reached
    // (the flow then ends in ERROR and a retry, or the next ADD_BIOMETRICS, replaces the SFS's key).
    const record = await readBioRecord(this.deps.storage);
    if (record) await forgetBioKey(this.deps, record);
    const sfs = await this.deps.openSfs();
    this.onCleanup(() => sfs.close());
    const removed = await sfs.removeBioKey();
    return { local: record !== undefined, sfs: removed };
  }
}
