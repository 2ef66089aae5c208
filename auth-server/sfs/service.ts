// SFS as a service instance: app instances, PINs, NS server policies and attestations, callable in-process.
import type { JWK } from 'jose';
import type { Knex } from 'knex';
import { sfsTargetId } from '../../protocol/mobile/index.js';
import type { Clock, Random } from '../common/clock.js';
import { ConfigError, settings } from '../common/config/index.js';
import type { Logger } from '../common/logging.js';
import type { ServiceDeps, ServiceInstance } from '../common/service.js';
import { type AttestationService, createAttestationService } from './attestations/attest.js';
import { createBioKeyRepository } from './bio/repository.js';
import { type BioService, createBioService } from './bio/service.js';
import { type AppInstanceRepository, createAppInstanceRepository } from './instances/repository.js';
import { channelIdentityFromKey, type SfsIdentity } from './keys/channel-identity.js';
import { loadOrCreateSfsKey, type SfsSigningKey, sfsPublicKeys } from './keys/signing-key.js';
import { createSfsMobileEndpoint } from './mobile/endpoint.js';
import { createSfsPeer } from './peer.js';
import { forwardPinLockouts } from './pin/lockout-report.js';
import { createPinService, type PinAudit, type PinService } from './pin/service.js';
import { createSfsServerRepository, type SfsServerRepository } from './servers/repository.js';

/**
 * What the `/sfs/mobile` channel endpoint (and, embedded, anything in-process) calls. Each method
 * validates its own input and throws SfsError with a stable code, so the endpoint only maps frames.
 */
export interface SfsApi extends AttestationService {
  /** `iss` of every attestation: `{NEXTAUTH_PUBLIC_URL}/sfs`. */
  readonly issuer: string;
  /** Secure-channel target id (`{kind: 'sfs', id}`), derived from the issuer. */
  readonly channelId: Promise<string>;
  readonly instances: AppInstanceRepository;
  readonly servers: SfsServerRepository;
  readonly pin: PinService;
  /** Biometric keys (ADD_BIOMETRICS / REMOVE_BIOMETRICS) and their nonces. */
  readonly bio: BioService;
  /** The keys NS should trust for this SFS's attestations (JWKs with kid, alg, use). */
  publicKeys(): Promise<JWK[]>;
  /** The signing key as the channel's server identity (imported once, then cached). */
  sfsIdentity(): Promise<SfsIdentity>;
}

export interface SfsApiOptions {
  db: Knex;
  clock: Clock;
  random: Random;
  publicUrl: string;
  secretKey: string;
  pinPepper: string;
  logger?: Logger;
  instanceFailureLimit?: number;
  /** Sees every PIN audit entry (the service passes lockouts on to NS). Must not throw. */
  onPinAudit?: (entry: PinAudit) => void;
}

export function createSfsApi(options: SfsApiOptions): SfsApi {
  const { db, clock, random, logger } = options;
  let key: Promise<SfsSigningKey> | undefined;
  const signingKey = () => {
    // Memoised, but a failed load (database down at start) is retried on the next call.
    key ??= loadOrCreateSfsKey(db, options.secretKey, clock).catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    return key;
  };
  const audit = (entry: PinAudit) => {
    logger?.info({ audit: entry }, `sfs ${entry.event}`);
    options.onPinAudit?.(entry);
  };
  const pin = createPinService({
    knex: db,
    clock,
    pepper: options.pinPepper,
    ...(options.instanceFailureLimit !== undefined
      ? { instanceFailureLimit: options.instanceFailureLimit }
      : {}),
    audit,
  });
  const instances = createAppInstanceRepository(db, clock, random);
  const servers = createSfsServerRepository(db, clock);
  const bio = createBioService({
    keys: createBioKeyRepository(db),
    instances,
    servers,
    pin,
    clock,
    random,
    audit,
  });
  let identity: Promise<SfsIdentity> | undefined;
  const sfsIdentity = () => {
    identity ??= signingKey()
      .then(channelIdentityFromKey)
      .catch((err: unknown) => {
        identity = undefined;
        throw err;
      });
    return identity;
  };
  const issuer = `${options.publicUrl.replace(/\/+$/, '')}/sfs`;
  return {
    issuer,
    channelId: sfsTargetId(issuer),
    instances,
    servers,
    pin,
    bio,
    ...createAttestationService({ pin, bio, signingKey, issuer, clock, random }),
    async publicKeys() {
      await signingKey();
      return sfsPublicKeys(db, clock);
    },
    sfsIdentity,
  };
}

export interface SfsServiceInstance extends ServiceInstance {
  readonly api: SfsApi;
}

export function createSfsService(deps: ServiceDeps): SfsServiceInstance {
  // Embedded mode generates both into the data directory before services start; `serve sfs` needs them set.
  const { pinPepper, secretKey } = deps.config;
  if (pinPepper === undefined) throw new ConfigError(settings.pinPepper.env, 'required by the SFS');
  if (secretKey === undefined) throw new ConfigError(settings.secretKey.env, 'required by the SFS');
  const api = createSfsApi({
    db: deps.db,
    clock: deps.clock,
    random: deps.random,
    publicUrl: deps.config.publicUrl,
    secretKey,
    onPinAudit: forwardPinLockouts(deps.peers, deps.logger),
    pinPepper,
    logger: deps.logger,
  });
  return {
    name: 'sfs',
    api,
    mobile: createSfsMobileEndpoint({ api, kv: deps.kv, clock: deps.clock, logger: deps.logger }),
    provides: { sfs: createSfsPeer(api) },
    async start() {
      // Creating the key at start (not on the first login) surfaces a wrong NEXTAUTH_SECRET_KEY at once,
      // and the first phone does not wait for the channel identity's import.
      await api.sfsIdentity();
    },
  };
}
