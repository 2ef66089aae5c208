// The virtual phone of the system tests: `nextauth-device` in its own home directory, and the steps every
// push test starts with (init, enrol, registration at the MC, a first QR login by a browser session).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CliResult, runCli } from './cli.js';

export const deviceCli = 'mobile-sdk/node/cli/main.ts';

/** Asserts exit status 0 (the phone's stderr in the message) and hands the result on. */
export function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

/** One entry of `nextauth-device pending --json` (DESIGN.md §5). */
export interface PendingJson {
  id: string;
  type: string;
  server: string;
  binding_message: string | null;
  display: Record<string, unknown>;
  expires_at: string;
}

export interface Phone {
  home: string;
  /** `nextauth-device ARGS --home HOME [--push-token T]`, whatever its exit status. */
  run(...args: string[]): Promise<CliResult>;
  /** As `run`, asserting success. */
  ok(...args: string[]): Promise<CliResult>;
  pending(): Promise<PendingJson[]>;
  /** Removes the home directory. */
  remove(): Promise<void>;
}

export interface PhoneOptions {
  /** `provider:token` the phone registers at the MC (a real phone's FCM or APNs token); none without. */
  pushToken?: string;
}

export async function newPhone(options: PhoneOptions = {}): Promise<Phone> {
  const home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
  const extra = options.pushToken ? ['--push-token', options.pushToken] : [];
  const run = (...args: string[]) => runCli(deviceCli, [...args, '--home', home, ...extra]);
  return {
    home,
    run,
    ok: async (...args) => ok(await run(...args)),
    pending: async () => JSON.parse(ok(await run('pending', '--json')).stdout) as PendingJson[],
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

export interface EnrolOptions {
  url: string;
  rootKey: string;
  userid: string;
  server?: string;
  pin?: string;
}

/**
 * init, enrol `userid` through an enrol link of the NS REST API, then one MC session: that registers the
 * app instance (mailbox key, push token) at the MC, so NS can reach it.
 */
export async function enrolPhone(phone: Phone, options: EnrolOptions): Promise<void> {
  await phone.ok('init', options.url);
  const link = await fetch(`${options.url}/ns/api/v2/enrol-links`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-apikey': options.rootKey },
    body: JSON.stringify({ server: options.server ?? 'default', userid: options.userid }),
  });
  expect(link.status, await link.clone().text()).to.equal(201);
  await phone.ok('enrol', ((await link.json()) as { uri: string }).uri, '--pin', options.pin ?? '1234');
  expect(await phone.pending()).to.deep.equal([]);
}

/** A browser's login session without a browser: the cookie holds its nonce; the QR it shows. */
export interface BrowserSession {
  cookie: string;
  nonce: string;
  qrUri: string;
}

export async function browserSession(url: string, server = 'default'): Promise<BrowserSession> {
  const res = await fetch(`${url}/ns/servers/${server}/browser-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const qr = await fetch(`${url}/ns/servers/${server}/session/qr`, { headers: { cookie } });
  return {
    cookie,
    nonce: cookie.split('=')[1] ?? '',
    qrUri: ((await qr.json()) as { qrUri: string }).qrUri,
  };
}

/** What the browser's session page answers (state, loggedin, userid, ...). */
export async function sessionStatus(
  url: string,
  cookie: string,
  server = 'default',
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/ns/servers/${server}/session`, { headers: { cookie } });
  return (await res.json()) as Record<string, unknown>;
}

/**
 * The first login of the account: a browser session approved by QR. Returns the session and the
 * returning-user cookie the browser received with the login (what lets it ask for a push later).
 */
export async function firstQrLogin(
  phone: Phone,
  url: string,
  options: { userid: string; server?: string; pin?: string },
): Promise<BrowserSession & { known: string }> {
  const server = options.server ?? 'default';
  const b = await browserSession(url, server);
  await phone.ok('login', b.qrUri, '--pin', options.pin ?? '1234', '--approve');
  const res = await fetch(`${url}/ns/servers/${server}/session`, { headers: { cookie: b.cookie } });
  expect(await res.json()).to.deep.include({ loggedin: true, userid: options.userid });
  const known = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { ...b, known };
}
