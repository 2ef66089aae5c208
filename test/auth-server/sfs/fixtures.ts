// Shared pieces of the SFS suites: device keys, PIN proofs, an SFS API over a test database, state snapshots.
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import { type FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { SfsError, type SfsErrorCode } from '../../../auth-server/sfs/errors.js';
import { createSfsApi, type SfsApi } from '../../../auth-server/sfs/service.js';

export const pepper = 'test-pepper-0123456789abcdef';
export const secretKey = 'test-secret-key-0123456789abcdef';
export const publicUrl = 'https://idp.example';
export const tables = [
  'sfs_bio_keys',
  'sfs_pin_attempts',
  'sfs_app_instances',
  'sfs_ns_servers',
  'sfs_signing_keys',
];

/** A fresh P-256 public JWK, as an app instance would register it. */
export async function devicePublicJwk(): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return exportJWK(publicKey);
}

/** What the app sends for a PIN: HMAC(device PIN key, PIN), base64url. */
export function pinProof(pin: string, deviceKey = 'device-pin-key'): string {
  return createHmac('sha256', deviceKey).update(pin).digest('base64url');
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** Asserts an SfsError with `code` (and optional fields) and returns it. */
export async function sfsRejection(
  promise: Promise<unknown>,
  code: SfsErrorCode,
  fields: Record<string, unknown> = {},
): Promise<SfsError> {
  const err = await rejection(promise);
  expect(err, String(err)).to.be.instanceOf(SfsError);
  expect(err).to.include({ code, ...fields });
  return err as SfsError;
}

/** Every row of every SFS table: compared before and after a rejection to prove nothing changed. */
export async function snapshot(knex: Knex): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables)
    out[table] = (await knex(table).select('*')).map((row: unknown) => JSON.stringify(row)).sort();
  return out;
}

export async function resetSfs(knex: Knex): Promise<void> {
  await migrateLatest(knex, 'sfs');
  for (const table of tables) await knex(table).del();
}

export function sfsApi(knex: Knex, clock: FixedClock, extra: { instanceFailureLimit?: number } = {}): SfsApi {
  return createSfsApi({
    db: knex,
    clock,
    random: systemRandom,
    publicUrl,
    secretKey,
    pinPepper: pepper,
    ...extra,
  });
}

/** An instance with PIN 123456 and a server with the given policy. */
export async function enrolled(api: SfsApi, policy: Record<string, number> = {}, serverId = 'ns-acme') {
  const instance = await api.instances.register({ publicJwk: await devicePublicJwk() });
  await api.pin.set({ instanceId: instance.id, pinProof: pinProof('123456') });
  const existing = await api.servers.find(serverId);
  const server = existing ?? (await api.servers.create({ id: serverId, policy }));
  return { instance, server, right: pinProof('123456'), wrong: pinProof('000000') };
}
