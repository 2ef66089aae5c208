// OIDC CIBA end to end (issue #11): openid-client 6 as the client against an embedded runtime, the real
// `nextauth-device` as the user's phone. Poll: approved (token with the authorization details, `sub` the
// user, introspection too, a receipt with the binding message), declined → access_denied, expired →
// expired_token; ping: the notification reaches a loopback receiver through the allow-listed outbound client,
// then the token. Refusals (no binding message, unknown user, a client not registered for CIBA, the rate
// limit) store nothing: no transaction at NS, no request at the IdP.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { verifyReceipt } from '../../auth-server/ns/transactions/receipt.js';
import { cibaRequestsPerMinute } from '../../idp/oidc/ciba.js';
import type { Runtime } from '../../idp/runtime/runtime.js';
import { createTestCertificates, type TestCertificates } from '../fakes/test-ca.js';
import { runCli } from '../helpers/cli.js';
import { enrolPhone, newPhone, ok, type PendingJson, type Phone } from '../helpers/device.js';
import { oauthError, until } from '../helpers/oauth.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const admin = 'idp/admin/cli/main.ts';
const rootKey = 'ciba-e2e-root-key-0123456789abcdef';

/**
 * The client's notification endpoint (CIBA ping, https only): records each call with its bearer token. Its
 * certificate is signed by a throwaway CA that this process's https requests trust besides the public roots
 * (`trustTestCa`): the runtime runs in this process and its outbound client uses `node:https`.
 */
async function notificationReceiver(certs: TestCertificates) {
  const calls: { authorization: string | undefined; body: Record<string, unknown> }[] = [];
  const server: Server = createHttpsServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      calls.push({ authorization: req.headers.authorization, body: JSON.parse(body || '{}') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/ciba-notify`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Makes `node:https` requests of this process trust `ca` too; returns the undo. */
function trustTestCa(ca: string): () => void {
  const require = createRequire(import.meta.url);
  const https = require('node:https') as typeof import('node:https');
  const original = https.request;
  const patched = ((...args: unknown[]) => {
    const options = args.find((a) => typeof a === 'object' && a !== null && !(a instanceof URL));
    if (options) Object.assign(options, { ca: [...rootCertificates, ca] });
    return (original as (...a: unknown[]) => ReturnType<typeof original>)(...args);
  }) as typeof original;
  https.request = patched;
  syncBuiltinESMExports();
  return () => {
    https.request = original;
    syncBuiltinESMExports();
  };
}

describe('e2e: OIDC CIBA (poll and ping) with openid-client and nextauth-device', function () {
  this.timeout(240_000);
  let started: TestRuntime | undefined;
  let device: Phone;
  let runtime: Runtime;
  let url: string;
  let issuer: string;
  let receiver: Awaited<ReturnType<typeof notificationReceiver>>;
  let untrust: (() => void) | undefined;

  const ns = () => runtime.dbs.ns as NonNullable<Runtime['dbs']['ns']>;
  const idp = () => runtime.dbs.idp as NonNullable<Runtime['dbs']['idp']>;
  /** What a refusal must leave alone: NS transactions and the IdP's stored CIBA requests. */
  const stored = async () => ({
    transactions: Number(((await ns()('ns_transactions').count({ n: '*' }).first()) as { n: unknown }).n),
    requests: Number(
      (
        (await idp()('idp_oidc_payloads')
          .where({ model: 'BackchannelAuthenticationRequest' })
          .count({ n: '*' })
          .first()) as { n: unknown }
      ).n,
    ),
  });

  const cliEnv = () => ({ NEXTAUTH_PUBLIC_URL: url, NEXTAUTH_NS_ROOT_API_KEY: rootKey });

  /** Registers a confidential client through the IdP management API; its openid-client configuration. */
  async function client(id: string, body: Record<string, unknown>): Promise<oidc.Configuration> {
    const res = await fetch(`${url}/idp/api/v1/servers/default/oidc/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({ clientId: id, ...body }),
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const { secret } = (await res.json()) as { secret: string };
    return configFor(id, secret);
  }

  const configFor = (id: string, secret: string) =>
    oidc.discovery(new URL(issuer), id, undefined, oidc.ClientSecretBasic(secret), {
      execute: [oidc.allowInsecureRequests],
    });

  /** The phone's pending request with that binding message (delivered before the CIBA answer). */
  async function pendingWith(bindingMessage: string): Promise<PendingJson> {
    const found = (await device.pending()).find((p) => p.binding_message === bindingMessage);
    if (!found) throw new Error(`no pending request with binding message ${bindingMessage}`);
    return found;
  }

  const bindingMessage = () => `NA-${randomBytes(3).toString('hex').toUpperCase()}`;

  before(async () => {
    started = await startTestRuntime({
      services: ['ns', 'sfs', 'mc', 'idp'],
      // The ping receiver of this test listens on loopback.
      env: { NEXTAUTH_NS_ROOT_API_KEY: rootKey, NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' },
    });
    ({ runtime, url } = started);
    issuer = `${url}/oidc/default`;
    const certs = createTestCertificates(['localhost']);
    untrust = trustTestCa(certs.ca);
    receiver = await notificationReceiver(certs);
    device = await newPhone();
    await enrolPhone(device, { url, rootKey, userid: 'erin' });
    const put = await fetch(`${url}/ns/api/v2/servers/default/transaction-types/payment_initiation`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      body: JSON.stringify({
        templates: { en: 'Transfer {instructedAmount.amount} {instructedAmount.currency} to {creditorName}' },
      }),
    });
    expect(put.status, await put.clone().text()).to.equal(200);
  });

  after(async () => {
    untrust?.();
    await receiver?.close();
    await started?.close();
    await device?.remove();
  });

  const detail = {
    type: 'payment_initiation',
    instructedAmount: { currency: 'EUR', amount: '250.00' },
    creditorName: 'Merchant A',
  };

  it('poll, approved: the phone shows and signs binding message and details; the token carries them', async () => {
    const rp = await client('ciba-bank', { grantTypes: [], ciba: 'poll', name: 'Example Bank' });
    const bm = bindingMessage();
    const started = await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid profile',
      login_hint: 'erin',
      binding_message: bm,
      authorization_details: JSON.stringify([detail]),
    });
    expect(started.auth_req_id).to.be.a('string');
    expect(started.expires_in).to.be.within(1, 600);

    const request = await pendingWith(bm);
    expect(request.type).to.equal('transaction');
    const shown = ok(await device.run('pending', '--show')).stdout;
    expect(shown).to.include('    Transfer 250.00 EUR to Merchant A');
    expect(shown).to.include(`    binding message: ${bm}`);
    expect(shown).to.include(`"bindingMessage":"${bm}"`);
    ok(await device.run('approve', request.id, '--pin', '1234'));

    const tokens = await oidc.pollBackchannelAuthenticationGrant(rp, started);
    expect(tokens.claims()?.sub).to.equal('erin');
    expect(tokens.claims()?.amr).to.deep.equal(['swk', 'pin']);
    expect(tokens.authorization_details).to.deep.equal([detail]);
    const introspected = await oidc.tokenIntrospection(rp, tokens.access_token);
    expect(introspected).to.include({ active: true, sub: 'erin', client_id: 'ciba-bank' });
    expect(introspected.authorization_details).to.deep.equal([detail]);

    // The evidence: the receipt's signed data names the binding message the user saw.
    const receipt = await fetch(`${url}/ns/api/v2/transactions/${request.id}/receipt`, {
      headers: { 'x-apikey': rootKey },
    });
    expect(receipt.status).to.equal(200);
    const body = (await receipt.json()) as { signedData: Record<string, unknown> };
    expect(body.signedData.bindingMessage).to.equal(bm);
    expect(body.signedData.type).to.equal('payment_initiation');
    expect((await verifyReceipt(body)).ok).to.equal(true);
    // The request is used up.
    expect(
      await oauthError(
        oidc.genericGrantRequest(rp, 'urn:openid:params:grant-type:ciba', {
          auth_req_id: started.auth_req_id,
        }),
      ),
    ).to.equal('invalid_grant');
  });

  it('without authorization_details the phone confirms a login of the client (id_token_hint names the user)', async () => {
    const rp = await client('ciba-login', { grantTypes: [], ciba: 'poll', name: 'Kiosk 7' });
    const firstBm = bindingMessage();
    const first = await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid',
      login_hint: 'erin',
      binding_message: firstBm,
    });
    ok(await device.run('approve', (await pendingWith(firstBm)).id, '--pin', '1234'));
    const tokens = await oidc.pollBackchannelAuthenticationGrant(rp, first);
    expect(tokens.authorization_details).to.equal(undefined);

    const bm = bindingMessage();
    await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid',
      id_token_hint: tokens.id_token as string,
      binding_message: bm,
    });
    const request = await pendingWith(bm);
    expect(request.display.userid).to.equal('erin');
    expect(request.display.text).to.equal('Log in to Kiosk 7');
    ok(await device.run('deny', request.id));
  });

  it('poll, declined on the phone: access_denied; polling too fast: slow_down', async () => {
    const rp = await client('ciba-declined', { grantTypes: [], ciba: 'poll' });
    const bm = bindingMessage();
    const started = await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid',
      login_hint: 'erin',
      binding_message: bm,
    });
    expect(started.interval).to.equal(5);
    // Polling faster than the interval: pending first, then slow_down.
    const poll = () =>
      oauthError(
        oidc.genericGrantRequest(rp, 'urn:openid:params:grant-type:ciba', {
          auth_req_id: started.auth_req_id,
        }),
      );
    expect(await poll()).to.equal('authorization_pending');
    expect(await poll()).to.equal('slow_down');
    ok(await device.run('deny', (await pendingWith(bm)).id));
    expect(await oauthError(oidc.pollBackchannelAuthenticationGrant(rp, started))).to.equal('access_denied');
  });

  it('poll, not answered in time: expired_token, the transaction stays unanswered', async () => {
    const rp = await client('ciba-expired', { grantTypes: [], ciba: 'poll' });
    const bm = bindingMessage();
    const started = await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid',
      login_hint: 'erin',
      binding_message: bm,
      requested_expiry: '2',
    });
    expect(started.expires_in).to.be.at.most(2);
    // openid-client waits its interval (5 s) before the first poll; the request has run out by then.
    const error = await oauthError(
      oidc.pollBackchannelAuthenticationGrant(rp, started, undefined, {
        signal: AbortSignal.timeout(60_000),
      }),
    );
    expect(error).to.equal('expired_token');
    const t = (await ns()('ns_transactions').orderBy('created_at', 'desc').first()) as Record<
      string,
      unknown
    >;
    expect(JSON.parse(String(t.signed_data)).bindingMessage).to.equal(bm);
    expect(t.used_at).to.equal(null);
  });

  it('ping: the notification endpoint gets the bearer token and auth_req_id, then the client fetches the token', async () => {
    const added = ok(
      await runCli(
        admin,
        [
          'oidc',
          'client',
          'add',
          '--server',
          'default',
          '--id',
          'ciba-ping',
          '--ciba',
          'ping',
          '--ciba-notify',
          receiver.url,
          '--json',
        ],
        cliEnv(),
      ),
    );
    const created = JSON.parse(added.stdout) as Record<string, unknown>;
    expect(created).to.include({ ciba: 'ping', cibaNotify: receiver.url });
    expect(created.grantTypes).to.deep.equal([]);
    const rp = await configFor('ciba-ping', created.secret as string);
    const token = randomBytes(16).toString('base64url');
    const bm = bindingMessage();
    const started = await oidc.initiateBackchannelAuthentication(rp, {
      scope: 'openid',
      login_hint: 'erin',
      binding_message: bm,
      client_notification_token: token,
      authorization_details: JSON.stringify([detail]),
    });
    ok(await device.run('approve', (await pendingWith(bm)).id, '--pin', '1234'));
    const call = await until('the ping', () => receiver.calls[0]);
    expect(call.authorization).to.equal(`Bearer ${token}`);
    expect(call.body).to.deep.equal({ auth_req_id: started.auth_req_id });
    const tokens = await oidc.genericGrantRequest(rp, 'urn:openid:params:grant-type:ciba', {
      auth_req_id: started.auth_req_id,
    });
    expect(tokens.claims()?.sub).to.equal('erin');
    expect(tokens.authorization_details).to.deep.equal([detail]);
  });

  it('a notification endpoint outside the outbound allow-list is refused at registration; the CLI updates CIBA', async () => {
    const refused = await runCli(
      admin,
      ['oidc', 'client', 'add', '--server', 'default', '--id', 'ciba-far', '--ciba', 'ping'].concat([
        '--ciba-notify',
        'http://10.20.30.40/notify',
      ]),
      cliEnv(),
    );
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.include('not an allowed outbound target');
    const show = await runCli(
      admin,
      ['oidc', 'client', 'show', '--server', 'default', '--id', 'ciba-far'],
      cliEnv(),
    );
    expect(show.code).to.not.equal(0);

    const updated = ok(
      await runCli(
        admin,
        ['oidc', 'client', 'update', '--server', 'default', '--id', 'ciba-ping', '--ciba', 'poll', '--json'],
        cliEnv(),
      ),
    );
    expect(JSON.parse(updated.stdout)).to.include({ ciba: 'poll', cibaNotify: null });
    // Without CIBA a client needs another grant type.
    const alone = await runCli(
      admin,
      ['oidc', 'client', 'update', '--server', 'default', '--id', 'ciba-ping', '--no-ciba'],
      cliEnv(),
    );
    expect(alone.code).to.not.equal(0);
    expect(alone.stderr).to.include('at least one grant type');
    const off = ok(
      await runCli(
        admin,
        ['oidc', 'client', 'update', '--server', 'default', '--id', 'ciba-ping', '--no-ciba'].concat([
          '--grant-types',
          'client_credentials',
          '--json',
        ]),
        cliEnv(),
      ),
    );
    expect(JSON.parse(off.stdout)).to.include({ ciba: null });
    expect(JSON.parse(off.stdout).grantTypes).to.deep.equal(['client_credentials']);
  });

  it('refusals store nothing: no binding message, a bad one, unknown user, a client without CIBA, unknown type', async () => {
    const rp = await client('ciba-refusals', { grantTypes: [], ciba: 'poll' });
    const before = await stored();
    const ask = (params: Record<string, string>, config = rp) =>
      oauthError(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', ...params }));
    expect(await ask({ login_hint: 'erin' })).to.equal('invalid_binding_message');
    expect(await ask({ login_hint: 'erin', binding_message: 'x'.repeat(65) })).to.equal(
      'invalid_binding_message',
    );
    expect(await ask({ login_hint: 'erin', binding_message: 'line\nbreak' })).to.equal(
      'invalid_binding_message',
    );
    expect(await ask({ login_hint: 'nobody', binding_message: bindingMessage() })).to.equal(
      'unknown_user_id',
    );
    expect(
      await ask({
        login_hint: 'erin',
        binding_message: bindingMessage(),
        authorization_details: JSON.stringify([{ type: 'not_registered', amount: '1.00' }]),
      }),
    ).to.equal('invalid_authorization_details');
    expect(
      await ask({
        login_hint: 'erin',
        binding_message: bindingMessage(),
        authorization_details: JSON.stringify([
          { ...detail, instructedAmount: { currency: 'EUR', amount: 1 } },
        ]),
      }),
    ).to.equal('invalid_authorization_details');
    const web = await client('web-only', { redirectUris: ['https://rp.example/cb'] });
    expect(await ask({ login_hint: 'erin', binding_message: bindingMessage() }, web)).to.equal(
      'unauthorized_client',
    );
    expect(await stored()).to.deep.equal(before);
  });

  it(`rate limit: ${cibaRequestsPerMinute} requests per minute for one client and user, then slow_down`, async () => {
    const rp = await client('ciba-rate', { grantTypes: [], ciba: 'poll' });
    const messages: string[] = [];
    for (let i = 0; i < cibaRequestsPerMinute; i++) {
      const bm = bindingMessage();
      messages.push(bm);
      await oidc.initiateBackchannelAuthentication(rp, {
        scope: 'openid',
        login_hint: 'erin',
        binding_message: bm,
      });
    }
    const before = await stored();
    const error = await oauthError(
      oidc.initiateBackchannelAuthentication(rp, {
        scope: 'openid',
        login_hint: 'erin',
        binding_message: bindingMessage(),
      }),
    );
    expect(error).to.equal('slow_down');
    expect(await stored()).to.deep.equal(before);
    // Another client is counted on its own.
    const other = await client('ciba-rate-2', { grantTypes: [], ciba: 'poll' });
    const bm = bindingMessage();
    messages.push(bm);
    await oidc.initiateBackchannelAuthentication(other, {
      scope: 'openid',
      login_hint: 'erin',
      binding_message: bm,
    });
    for (const m of messages) ok(await device.run('deny', (await pendingWith(m)).id));
  });
});
