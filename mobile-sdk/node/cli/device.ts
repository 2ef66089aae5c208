// The CLI's virtual phone: home directory, file key store and storage, `ws` transport, one NextAuthSdk.
import { mkdir } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { SdkError } from '../../core/errors.js';
import type { PushTokenSource } from '../../core/mc/push.js';
import { NextAuthSdk } from '../../core/sdk.js';
import { FileBiometrics } from '../file-biometrics.js';
import { FileKeyStore } from '../file-key-store.js';
import { FileStorage } from '../file-storage.js';
import { wsTransportFactory } from '../ws-transport.js';

export const CLIENT_VERSION = 'nextauth-device/0.1.0';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  /** `fcm:TOKEN` or `apns:TOKEN`: the push token a real phone would register at the MC. */
  pushToken?: string;
}

/**
 * `--push-token provider:token`: lets the virtual phone stand in for an Android or iOS device in tests of
 * the push path (the token then goes to FCM or APNs, or to their local fakes). Checked by the MC's schema.
 */
export function pushTokenSource(value: string | undefined): PushTokenSource | undefined {
  if (value === undefined) return undefined;
  const match = /^(fcm|apns):(.+)$/.exec(value);
  if (!match) throw new SdkError('invalid_input', '--push-token must be fcm:TOKEN or apns:TOKEN');
  const registration = { provider: match[1] as 'fcm' | 'apns', token: match[2] ?? '' };
  return { registration: async () => registration };
}

/** `--home`, else `$NEXTAUTH_DEVICE_HOME`, else `~/.nextauth-device`. */
export function deviceHome(options: GlobalOptions): string {
  return resolve(options.home ?? process.env.NEXTAUTH_DEVICE_HOME ?? join(homedir(), '.nextauth-device'));
}

/** Every device this process opened: their history writes must land before it exits. */
const opened: NextAuthSdk[] = [];

/** Waits for what opened devices still write (history entries of flows that just ended). */
export async function settleDevices(): Promise<void> {
  await Promise.all(opened.map((sdk) => sdk.idle()));
}

export async function openDevice(options: GlobalOptions): Promise<NextAuthSdk> {
  const push = pushTokenSource(options.pushToken);
  const home = deviceHome(options);
  // 0700: the home holds the device secret that seals the keys.
  await mkdir(home, { recursive: true, mode: 0o700 });
  const sdk = await NextAuthSdk.open({
    keyStore: new FileKeyStore({ home }),
    storage: new FileStorage(home),
    biometrics: new FileBiometrics(home),
    transports: wsTransportFactory({ userAgent: CLIENT_VERSION }),
    deviceDescription: `nextauth-device on ${hostname()}`.slice(0, 100),
    clientVersion: CLIENT_VERSION,
    ...(push ? { push } : {}),
  });
  opened.push(sdk);
  return sdk;
}

/** Writes a result: JSON with `--json`, else the human line(s). */
export function output(options: GlobalOptions, json: unknown, human: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${human}\n`);
}
