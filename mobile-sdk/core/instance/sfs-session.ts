// The app instance at its SFS: instance key + device PIN key in the KeyStore, registration, PIN set, attestations.
import { z } from 'zod';
import { b64u } from '../../../protocol/encoding.js';
import type { Channel } from '../../../protocol/index.js';
import { type PublicJwk, publicKeyFromJwk } from '../../../protocol/keys.js';
import {
  type SfsMobileMessages,
  sfsIssuerFromEndpoint,
  sfsMobileMessages,
  sfsTargetId,
} from '../../../protocol/mobile/index.js';
import { openChannel, type TransportFactory } from '../channels.js';
import type { SdkEndpoint } from '../config/index.js';
import { SdkError } from '../errors.js';
import { keyStoreSigner } from '../keys.js';
import { ensurePinKey, PIN_KEY_ALIAS, pinProof } from '../pin.js';
import { type KeyStore, KeyStoreError, type Storage } from '../ports.js';

export const INSTANCE_KEY_ALIAS = 'app-instance';
export const INSTANCE_STORAGE_KEY = 'instance';

const instanceRecordSchema = z
  .object({ v: z.literal(1), instanceId: z.string().max(64), pinSet: z.boolean(), sfsUrl: z.string() })
  .strict();
export type InstanceRecord = z.output<typeof instanceRecordSchema>;

export type AttestOutcome =
  | { ok: true; attestation: string }
  | { ok: false; error: 'pin_invalid'; attemptsLeft: number }
  | { ok: false; error: 'pin_locked'; retryAfterSeconds: number }
  | { ok: false; error: 'pin_blocked' };

export type ChangePinOutcome = { ok: true } | Exclude<AttestOutcome, { ok: true }>;

/** A bio attestation's SFS refusals come as MessageErrors (`bio_*`, `pin_blocked`); this is the success. */
export interface BioAttestation {
  attestation: string;
}

export interface SfsSessionDeps {
  keyStore: KeyStore;
  storage: Storage;
  transports: TransportFactory;
  /** The SFS of the verified SDK configuration. */
  sfs: SdkEndpoint;
}

/** Creates the instance key once; a concurrent creator's key is as good as ours. */
async function ensureInstanceKey(store: KeyStore): Promise<void> {
  if (await store.has(INSTANCE_KEY_ALIAS)) return;
  try {
    await store.generate(INSTANCE_KEY_ALIAS, 'ecdsa-p256');
  } catch (err) {
    if (!(err instanceof KeyStoreError && err.code === 'exists')) throw err;
  }
}

/** The locally remembered registration (what `accounts`/status screens show without a round trip). */
export async function readInstanceRecord(storage: Storage): Promise<InstanceRecord | undefined> {
  const parsed = instanceRecordSchema.safeParse(await storage.get(INSTANCE_STORAGE_KEY));
  return parsed.success ? parsed.data : undefined;
}

/** One open channel to the SFS, authenticated with the app-instance key and registered. */
export class SfsSession {
  private constructor(
    private readonly channel: Channel<SfsMobileMessages>,
    private readonly deps: SfsSessionDeps,
    readonly instanceId: string,
    private pinIsSet: boolean,
  ) {}

  /**
   * Connects (pinned to the configuration's SFS key) and registers the instance; registration is idempotent
   * and its `pinSet` is the SFS's truth, so a device whose local record is stale still asks the right thing.
   */
  static async open(deps: SfsSessionDeps): Promise<SfsSession> {
    await ensureInstanceKey(deps.keyStore);
    await ensurePinKey(deps.keyStore);
    const channel = await openChannel(deps.transports, {
      // The configuration names the channel endpoint itself (ws[s]://…/sfs/mobile).
      url: deps.sfs.url,
      target: { kind: 'sfs', id: await sfsTargetId(sfsIssuerFromEndpoint(deps.sfs.url)) },
      server: { keys: [publicKeyFromJwk(deps.sfs.key)] },
      identity: await keyStoreSigner(deps.keyStore, INSTANCE_KEY_ALIAS),
      registry: sfsMobileMessages,
    });
    try {
      const reg = await channel.request('instance.register', {});
      const session = new SfsSession(channel, deps, reg.instanceId, reg.pinSet);
      await session.remember();
      return session;
    } catch (err) {
      await channel.close().catch(() => {});
      throw err;
    }
  }

  get pinSet(): boolean {
    return this.pinIsSet;
  }

  /** Sets the first PIN of the instance (only its HMAC proof leaves the device). */
  async setPin(pin: string): Promise<void> {
    if (this.pinIsSet) throw new SdkError('invalid_input', 'this app instance already has a PIN');
    await this.channel.request('pin.set', { pinProof: await this.proof(pin) });
    this.pinIsSet = true;
    await this.remember();
  }

  /** Asks for an attestation over `challenge` for NS server `serverId`; PIN failures are outcomes, not throws. */
  async attest(serverId: string, challenge: string, pin: string): Promise<AttestOutcome> {
    const res = await this.channel.request('attest', {
      serverId,
      challenge,
      method: 'pin',
      pinProof: await this.proof(pin),
    });
    if (res.ok) return { ok: true, attestation: res.attestation };
    return res;
  }

  /**
   * Replaces the PIN; the old one is checked (and a wrong one counted) under the policy of NS server
   * `serverId`, as any PIN check. PIN failures are outcomes, not throws.
   */
  async changePin(serverId: string, oldPin: string, newPin: string): Promise<ChangePinOutcome> {
    const res = await this.channel.request('pin.change', {
      serverId,
      oldPinProof: await this.proof(oldPin),
      newPinProof: await this.proof(newPin),
    });
    return res.ok ? { ok: true } : res;
  }

  /**
   * Registers the biometric public key after the SFS checked the PIN under `serverId`'s policy (a wrong PIN
   * is an outcome with attempts left, counted like any PIN check).
   */
  async registerBioKey(serverId: string, pin: string, publicJwk: PublicJwk): Promise<ChangePinOutcome> {
    const res = await this.channel.request('bio.register', {
      serverId,
      pinProof: await this.proof(pin),
      publicJwk: { kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y },
    });
    return res.ok ? { ok: true } : res;
  }

  /** Removes the instance's biometric key at the SFS; false when it had none. */
  async removeBioKey(): Promise<boolean> {
    return (await this.channel.request('bio.remove', {})).removed;
  }

  /** A one-time nonce for the next bio attestation. */
  async bioChallenge(): Promise<string> {
    return (await this.channel.request('bio.challenge', {})).nonce;
  }

  /** An attestation over `challenge` proven by the biometric key's signature (over bioSignedData). */
  async attestBio(
    serverId: string,
    challenge: string,
    nonce: string,
    signature: Uint8Array,
  ): Promise<AttestOutcome> {
    const res = await this.channel.request('attest', {
      serverId,
      challenge,
      method: 'bio',
      nonce,
      signature: b64u(signature),
    });
    if (res.ok) return { ok: true, attestation: res.attestation };
    return res;
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  private async proof(pin: string): Promise<string> {
    try {
      return await pinProof(this.deps.keyStore, PIN_KEY_ALIAS, pin);
    } catch (err) {
      if (err instanceof TypeError) throw new SdkError('invalid_input', err.message);
      throw err;
    }
  }

  private async remember(): Promise<void> {
    await this.deps.storage.set(INSTANCE_STORAGE_KEY, {
      v: 1,
      instanceId: this.instanceId,
      pinSet: this.pinIsSet,
      sfsUrl: this.deps.sfs.url,
    });
  }
}
