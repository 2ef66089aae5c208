// Biometric keys at the SFS: registration behind the PIN, removal, one-time nonces and bio attestations.
import { webcrypto } from 'node:crypto';
import { z } from 'zod';
import { bioSignedData } from '../../../protocol/mobile/sfs.js';
import type { Clock, Random } from '../../common/clock.js';
import { randomToken } from '../../common/clock.js';
import { parseInput, SfsError } from '../errors.js';
import type { AppInstanceRepository } from '../instances/repository.js';
import { acceptP256Jwk, type P256PublicJwk } from '../jwk.js';
import type { PinAudit, PinService } from '../pin/service.js';
import { sfsServerIdSchema } from '../servers/model.js';
import type { SfsServerRepository } from '../servers/repository.js';
import type { BioKeyRepository } from './repository.js';

/** How long a nonce from `bio.challenge` stays good: the user has to find the sensor first. */
export const bioNonceSeconds = 120;

const instanceIdSchema = z.string().min(1).max(64);
const b64u32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes');

const registerSchema = z.strictObject({
  instanceId: instanceIdSchema,
  serverId: sfsServerIdSchema,
  pinProof: z.string(),
  publicJwk: z.unknown(),
});

const verifySchema = z.strictObject({
  instanceId: instanceIdSchema,
  serverId: sfsServerIdSchema,
  challenge: b64u32,
  nonce: b64u32,
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected base64url of a 64-byte signature'),
});

export interface BioService {
  /**
   * Checks the PIN under `serverId`'s policy (every PinService.verify error, counted like any PIN check),
   * then stores the key, replacing an earlier one. `invalid_request` for a key that is not P-256.
   */
  register(input: z.input<typeof registerSchema>): Promise<void>;
  /** True when a key was removed; its nonce goes with it, so a signature over it is refused from then on. */
  remove(instanceId: string): Promise<boolean>;
  /** A fresh nonce (replacing an unused one). `bio_not_registered`, `unknown_instance`. */
  challenge(instanceId: string): Promise<{ nonce: string; expiresAt: number }>;
  /**
   * Succeeds only for the instance's current unexpired nonce signed with its registered key for this
   * server and challenge; the nonce is consumed only then. Refusals change nothing: `unknown_server`,
   * `bio_not_allowed`, `unknown_instance`, `pin_blocked` (a blocked instance), `bio_not_registered`,
   * `bio_challenge_invalid`, `bio_signature_invalid`, `invalid_request`.
   */
  verify(
    input: z.input<typeof verifySchema>,
  ): Promise<{ instanceId: string; serverId: string; challenge: string }>;
}

export interface BioServiceOptions {
  keys: BioKeyRepository;
  instances: AppInstanceRepository;
  servers: SfsServerRepository;
  pin: PinService;
  clock: Clock;
  random: Random;
  audit?: (entry: PinAudit) => void;
}

async function signatureVerifies(jwk: P256PublicJwk, signature: string, data: Uint8Array): Promise<boolean> {
  const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'verify',
  ]);
  return webcrypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    Buffer.from(signature, 'base64url'),
    data,
  );
}

export function createBioService(options: BioServiceOptions): BioService {
  const { keys, instances, servers, pin, clock, random } = options;
  const audit = options.audit ?? (() => {});
  return {
    async register(input) {
      const { instanceId, serverId, pinProof, publicJwk } = parseInput(registerSchema, input);
      // The key is checked before the PIN, so a malformed key costs no attempt.
      const accepted = await acceptP256Jwk(publicJwk);
      await pin.verify({ instanceId, serverId, pinProof });
      await keys.save(instanceId, { publicJwk: accepted.jwk, thumbprint: accepted.thumbprint }, clock.now());
      audit({ event: 'bio_registered', instanceId, serverId });
    },

    async remove(instanceId) {
      const removed = await keys.delete(parseInput(instanceIdSchema, instanceId));
      if (removed) audit({ event: 'bio_removed', instanceId });
      return removed;
    },

    async challenge(instanceId) {
      const id = parseInput(instanceIdSchema, instanceId);
      const now = clock.now();
      const nonce = randomToken(random, 32);
      const expiresAt = now + bioNonceSeconds * 1000;
      if (await keys.setNonce(id, nonce, expiresAt, now)) return { nonce, expiresAt };
      throw new SfsError((await instances.find(id)) ? 'bio_not_registered' : 'unknown_instance');
    },

    async verify(input) {
      const { instanceId, serverId, challenge, nonce, signature } = parseInput(verifySchema, input);
      try {
        const server = await servers.find(serverId);
        if (!server) throw new SfsError('unknown_server');
        if (server.policy.bioAllowed === false) throw new SfsError('bio_not_allowed');
        const instance = await instances.find(instanceId);
        if (!instance) throw new SfsError('unknown_instance');
        // A block distrusts the instance as a whole, not only its PIN.
        if (instance.blocked) throw new SfsError('pin_blocked');
        const key = await keys.find(instanceId);
        if (!key) throw new SfsError('bio_not_registered');
        const now = clock.now();
        if (key.nonce !== nonce || key.nonceExpiresAt === null || key.nonceExpiresAt <= now)
          throw new SfsError('bio_challenge_invalid');
        // Verified before the nonce is consumed: a forged signature must not burn the real device's nonce.
        if (
          !(await signatureVerifies(key.publicJwk, signature, bioSignedData({ nonce, serverId, challenge })))
        )
          throw new SfsError('bio_signature_invalid');
        if (!(await keys.consumeNonce(instanceId, nonce, now))) throw new SfsError('bio_challenge_invalid');
      } catch (err) {
        if (err instanceof SfsError) audit({ event: 'bio_refused', instanceId, serverId, code: err.code });
        throw err;
      }
      audit({ event: 'bio_verified', instanceId, serverId });
      return { instanceId, serverId, challenge };
    },
  };
}
