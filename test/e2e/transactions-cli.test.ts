// Transaction signing end to end (issue #11) with the real `nextauth-device` against an embedded runtime:
// REST create → `pending --show` prints what is signed → approve with the PIN → status approved → the
// receipt verifies offline (`nextauth verify-receipt`) and fails when any field is tampered with; decline;
// an expired transaction cannot be approved; concurrent answers at NS → exactly one wins; three phones of one
// user answering the same transaction at once → exactly one outcome, the others a clear error; a biometric
// approval under the PIN-only policy is refused (`pin_required`) and changes nothing; QR delivery: nothing
// is pushed, the phone scans `nextauth://transaction?d=…` (`sign`) and signs or declines as for a push.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { verifyReceipt } from '../../auth-server/ns/transactions/receipt.js';
import { createTransactionRepository } from '../../auth-server/ns/transactions/repository.js';
import type { Runtime } from '../../idp/runtime/runtime.js';
import { SdkError } from '../../mobile-sdk/core/errors.js';
import { driveFlow } from '../../mobile-sdk/core/flows/drive.js';
import { openDevice } from '../../mobile-sdk/node/cli/device.js';
import { runCli } from '../helpers/cli.js';
import { enrolPhone, newPhone, ok, type Phone } from '../helpers/device.js';
import { decodeQrPng } from '../helpers/qr-decode.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const admin = 'idp/admin/cli/main.ts';
const rootKey = 'tx-e2e-root-key-0123456789abcdef';

/** Every leaf of a JSON value with its path. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      leaves(v, [...path, Array.isArray(value) ? Number(k) : k]),
    );
  return [path];
}

/** A copy of `receipt` with the leaf at `path` changed (strings get one character altered). */
function tampered(receipt: unknown, path: (string | number)[]): unknown {
  const copy = structuredClone(receipt) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  const value = node[last];
  if (typeof value === 'string') {
    const i = Math.floor(value.length / 2);
    const c = value[i] === 'A' ? 'B' : 'A';
    node[last] = value.length === 0 ? 'x' : value.slice(0, i) + c + value.slice(i + 1);
  } else if (typeof value === 'number') node[last] = value + 1;
  else if (value === null) node[last] = { x: '1' };
  else node[last] = 'changed';
  return copy;
}

describe('e2e: transaction signing with nextauth-device and verify-receipt', function () {
  this.timeout(180_000);
  let started: TestRuntime | undefined;
  let device: Phone;
  let runtime: Runtime;
  let url: string;

  const phone = (...args: string[]) => device.run(...args);
  const ns = () => runtime.dbs.ns as NonNullable<Runtime['dbs']['ns']>;

  async function rest(method: string, path: string, body?: unknown) {
    return fetch(`${url}/ns/api/v2/${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-apikey': rootKey },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function create(body: Record<string, unknown> = {}): Promise<{ tid: string; text: string }> {
    const res = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      amount: '1234.50',
      currency: 'EUR',
      beneficiary: 'ACME Books',
      description: 'Invoice 42',
      ...body,
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    return (await res.json()) as { tid: string; text: string };
  }

  before(async () => {
    started = await startTestRuntime({
      services: ['sfs', 'mc', 'ns'],
      env: { NEXTAUTH_NS_ROOT_API_KEY: rootKey },
    });
    ({ runtime, url } = started);
    device = await newPhone();
    await enrolPhone(device, { url, rootKey, userid: 'erin' });
    // Room for every transaction of this file within one minute (the limits have their own suite).
    const policy = await rest('PATCH', 'servers/default', {
      policy: { transactionsPerMinute: 60, maxOpenTransactions: 20 },
    });
    expect(policy.status, await policy.clone().text()).to.equal(200);
  });

  after(async () => {
    await started?.close();
    await device?.remove();
    for (const p of fays) await p.remove();
  });

  /** Three phones of one user `fay`: a transaction to her userid reaches each of them. */
  const fays: Phone[] = [];
  async function fayPhones(): Promise<{ phone: Phone; account: string }[]> {
    if (fays.length === 0)
      for (let i = 0; i < 3; i++) {
        const p = await newPhone();
        fays.push(p);
        await enrolPhone(p, { url, rootKey, userid: 'fay' });
      }
    return Promise.all(
      fays.map(async (p) => {
        const [a] = JSON.parse(ok(await p.run('accounts', '--json')).stdout) as { nsAccountId: string }[];
        return { phone: p, account: a?.nsAccountId ?? '' };
      }),
    );
  }

  it('REST create → pending --show → approve → approved → receipt verifies offline, tampering fails', async () => {
    const { tid, text } = await create();
    expect(text).to.equal('Pay 1234.50 EUR to ACME Books. Description: Invoice 42');
    const shown = ok(await phone('pending', '--show')).stdout;
    expect(shown).to.include(tid);
    expect(shown).to.include(`    ${text}`);
    // The exact JCS that the account key signs, members sorted, the amount a string.
    expect(shown).to.match(
      /signs: \{"locale":"en","purpose":"nextauth-transaction-v1","server":"[^"]+\/ns\/default"/,
    );
    expect(shown).to.include('"values":{"amount":"1234.50","beneficiary":"ACME Books","currency":"EUR"');

    const r = JSON.parse(ok(await phone('approve', tid, '--pin', '1234', '--json')).stdout);
    expect(r).to.include({ outcome: 'approved', text, method: 'pin' });
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'approved', tid, text });

    const res = await rest('GET', `transactions/${tid}/receipt`);
    expect(res.status, await res.clone().text()).to.equal(200);
    const receipt = (await res.json()) as Record<string, unknown>;
    const verdict = await verifyReceipt(receipt);
    expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);

    const file = join((started as TestRuntime).dataDir, 'receipt.json');
    await writeFile(file, JSON.stringify(receipt));
    expect(ok(await runCli(admin, ['verify-receipt', file])).stdout).to.include(
      `Receipt valid: transaction ${tid}`,
    );
    const paths = leaves(receipt);
    expect(paths.length).to.be.greaterThan(30);
    for (const path of paths) {
      const result = await verifyReceipt(tampered(receipt, path));
      expect(result.ok, `tampered ${path.join('.')} still verifies`).to.equal(false);
    }
    // The CLI names the failing check.
    await writeFile(file, JSON.stringify(tampered(receipt, ['rendered', 'text'])));
    const bad = await runCli(admin, ['verify-receipt', file]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('countersignature');
    expect(await phone('approve', tid, '--pin', '1234').then((x) => x.code)).to.not.equal(0);
  });

  it('the PIN-always policy reaches the phone (pin_required) and a PIN approval passes it', async () => {
    const policy = await rest('PATCH', 'servers/default', { policy: { transactionPinAlways: true } });
    expect(policy.status, await policy.clone().text()).to.equal(200);
    try {
      const { tid } = await create({ amount: '3.00' });
      const listed = JSON.parse(ok(await phone('pending', '--json')).stdout) as {
        id: string;
        display: { pin_required?: boolean; text?: string };
      }[];
      expect(listed.find((p) => p.id === tid)?.display).to.include({ pin_required: true });
      const r = JSON.parse(ok(await phone('approve', tid, '--pin', '1234', '--json')).stdout);
      expect(r).to.include({ outcome: 'approved', method: 'pin' });
    } finally {
      await rest('PATCH', 'servers/default', { policy: { transactionPinAlways: false } });
    }
  });

  it('deny declines; the declined transaction has no receipt and cannot be approved', async () => {
    const { tid } = await create({ amount: '5.00' });
    ok(await phone('deny', tid));
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'declined' });
    const receipt = await rest('GET', `transactions/${tid}/receipt`);
    expect(receipt.status).to.equal(409);
    expect(((await receipt.json()) as { reason: string }).reason).to.equal('no_receipt');
  });

  it('an expired transaction cannot be approved and reads as expired', async () => {
    const { tid } = await create({ amount: '7.00' });
    await ns()('ns_transactions')
      .where({ id: tid })
      .update({ expires_at: Date.now() - 1000 });
    const r = await phone('approve', tid, '--pin', '1234');
    expect(r.code).to.not.equal(0);
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'expired', answeredBy: null });
    const row = await ns()('ns_transactions').where({ id: tid }).first();
    expect(row.used_at).to.equal(null);
  });

  it('concurrent answers of one transaction: exactly one wins', async () => {
    const { tid } = await create({ amount: '9.00' });
    const repo = createTransactionRepository(ns());
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        repo.answer(tid, now, i % 2 === 0 ? 'approved' : 'declined', `racer-${i}`, null),
      ),
    );
    expect(results.filter(Boolean)).to.have.length(1);
    const row = await ns()('ns_transactions').where({ id: tid }).first();
    const winner = results.indexOf(true);
    expect(row.answered_by).to.equal(`racer-${winner}`);
    // The phone still holds the message of a transaction answered elsewhere: `pending` drops it (and
    // acknowledges it, so the next listing does not fetch it again) instead of failing.
    expect((await device.pending()).map((p) => p.display.tid)).to.not.include(tid);
    expect((await device.pending()).map((p) => p.display.tid)).to.not.include(tid);
  });

  it('three phones of one user approve the same transaction at once: one wins, the others hear transaction_answered', async () => {
    const phones = await fayPhones();
    const { tid, accounts } = (await create({ userid: 'fay', amount: '21.00' })) as {
      tid: string;
      accounts?: string[];
    };
    expect(accounts).to.have.members(phones.map((p) => p.account));
    // One MC message per phone (ids are unique at the MC), each naming the transaction.
    const listed = await Promise.all(phones.map(async (p) => (await p.phone.pending())[0]));
    expect(listed.map((l) => l?.display.tid)).to.deep.equal([tid, tid, tid]);
    expect(new Set(listed.map((l) => l?.id)).size).to.equal(3);
    const answers = await Promise.all(
      phones.map((p) => p.phone.run('approve', tid, '--pin', '1234', '--json')),
    );
    const winners = answers.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners, answers.map((r) => r.stderr).join('\n')).to.have.length(1);
    const winner = phones[winners[0] ?? -1];
    for (const r of answers.filter((a) => a.code !== 0))
      expect(r.stderr).to.match(/^nextauth-device: .*answered already/m);
    const won = JSON.parse(answers[winners[0] ?? -1]?.stdout ?? '') as {
      outcome: string;
      account: { nsAccountId: string };
    };
    expect(won).to.deep.include({ outcome: 'approved' });
    expect(won.account.nsAccountId).to.equal(winner?.account);
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'approved', answeredBy: winner?.account });
    const receipt = (await (await rest('GET', `transactions/${tid}/receipt`)).json()) as {
      transaction: { account: string };
    };
    expect(receipt.transaction.account).to.equal(winner?.account);
    expect((await verifyReceipt(receipt)).ok).to.equal(true);
    // One approval audited, the losers' answers never reached the guarded update as a second outcome.
    const audited = await ns()('ns_audit_events')
      .where({ type: 'transaction.approved' })
      .andWhere('details', 'like', `%${tid}%`);
    expect(audited).to.have.length(1);
  });

  it("approve against deny on three phones at once: exactly one outcome, and the receipt (if any) is the winner's", async () => {
    const phones = await fayPhones();
    const { tid } = await create({ userid: 'fay', amount: '22.00' });
    const decisions = ['approve', 'deny', 'approve'] as const;
    const answers = await Promise.all(
      phones.map((p, i) =>
        decisions[i] === 'approve'
          ? p.phone.run('approve', tid, '--pin', '1234', '--json')
          : p.phone.run('deny', tid, '--json'),
      ),
    );
    const winners = answers.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners, answers.map((r) => r.stderr).join('\n')).to.have.length(1);
    const w = winners[0] ?? -1;
    for (const r of answers.filter((a) => a.code !== 0))
      expect(r.stderr).to.match(/^nextauth-device: .*answered already/m);
    const outcome = decisions[w] === 'approve' ? 'approved' : 'declined';
    expect(JSON.parse(answers[w]?.stdout ?? '')).to.include({ outcome });
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: outcome, answeredBy: phones[w]?.account });
    const receipt = await rest('GET', `transactions/${tid}/receipt`);
    if (outcome === 'declined') expect(receipt.status).to.equal(409);
    else
      expect(((await receipt.json()) as { transaction: { account: string } }).transaction.account).to.equal(
        phones[w]?.account,
      );
  });

  it('PIN-only policy: a biometric approval is refused (pin_required) and the transaction stays open', async () => {
    ok(await phone('bio', 'simulate', '--enrol'));
    ok(await phone('bio', 'add', '--pin', '1234'));
    const { tid } = await create({ amount: '31.00' });
    const before = await ns()('ns_transactions').where({ id: tid }).first();
    // The honest app asks for the PIN once `transaction.get` says so; here the policy turns on while the user
    // looks at the confirmation, after the phone fetched the transaction: it sends a `bio` attestation.
    const sdk = await openDevice({ home: device.home });
    const inbox = await sdk.openInbox();
    let error: unknown;
    try {
      const pending = await inbox.take(tid);
      if (pending.request.type !== 'transaction') throw new Error('not a transaction');
      await driveFlow(sdk.startSignTransaction(pending.request, { secondFactor: 'bio' }), {
        confirm: async () => 'approve',
        confirmTransaction: async () => {
          const on = await rest('PATCH', 'servers/default', { policy: { transactionPinAlways: true } });
          expect(on.status).to.equal(200);
          return 'approve';
        },
        newPin: async () => {
          throw new Error('no new PIN here');
        },
        pin: async () => {
          throw new Error('the biometric path asks no PIN');
        },
      });
    } catch (err) {
      error = err;
    } finally {
      await inbox.settled();
      await inbox.close().catch(() => {});
      await sdk.idle();
    }
    try {
      expect(error, String(error)).to.be.instanceOf(SdkError);
      expect(
        `${(error as SdkError).code} ${(error as SdkError).message} ${JSON.stringify((error as SdkError).details)}`,
      ).to.include('pin_required');
      // Nothing changed: still new, unanswered, no receipt; the refusal is audited.
      expect(await ns()('ns_transactions').where({ id: tid }).first()).to.deep.equal(before);
      const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
      expect(status).to.include({ status: 'new', answeredBy: null, answeredAt: null });
      const rejected = await ns()('ns_audit_events')
        .where({ type: 'transaction.rejected' })
        .andWhere('details', 'like', `%${tid}%`);
      expect(rejected).to.have.length(1);
      expect(rejected[0].details).to.include('pin_required');
      // With the PIN it passes (the phone reads the policy now).
      const r = JSON.parse(ok(await phone('approve', tid, '--bio', '--pin', '1234', '--json')).stdout);
      expect(r).to.include({ outcome: 'approved', method: 'pin' });
    } finally {
      await rest('PATCH', 'servers/default', { policy: { transactionPinAlways: false } });
      ok(await phone('bio', 'remove'));
    }
  });

  it('QR delivery: nothing is pushed; the phone scans the QR (PNG and raw), signs, the receipt verifies', async () => {
    const res = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      amount: '41.00',
      beneficiary: 'Kiosk',
      description: 'Coffee',
      delivery: 'qr',
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const created = (await res.json()) as {
      tid: string;
      qrUri: string;
      delivery: string;
      accounts: string[];
    };
    expect(created).to.deep.include({ delivery: 'qr', accounts: [] });
    expect(created.qrUri).to.match(/^nextauth:\/\/transaction\?d=[A-Za-z0-9_-]+$/);
    const { tid } = created;
    expect((await device.pending()).map((p) => p.display.tid)).to.not.include(tid);

    const qr = (await (await rest('GET', `transactions/${tid}/qr?img=png`)).json()) as {
      qrUri: string;
      qrData: unknown;
      img: string;
    };
    expect(qr.qrUri).to.equal(created.qrUri);
    expect(qr.qrData).to.deep.equal({ v: 1, ns: url, s: 'default', t: tid });
    expect(decodeQrPng(Buffer.from(qr.img.split(',')[1] ?? '', 'base64'))).to.equal(qr.qrUri);
    const png = await rest('GET', `transactions/${tid}/qr.png`);
    expect(png.headers.get('content-type')).to.equal('image/png');
    const scanned = decodeQrPng(Buffer.from(await png.arrayBuffer()));
    expect(scanned).to.equal(qr.qrUri);

    const r = JSON.parse(ok(await phone('sign', scanned, '--approve', '--pin', '1234', '--json')).stdout);
    expect(r).to.include({
      id: tid,
      outcome: 'approved',
      method: 'pin',
      text: 'Pay 41.00 EUR to Kiosk. Description: Coffee',
    });
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'approved' });
    const receipt = await (await rest('GET', `transactions/${tid}/receipt`)).json();
    expect((await verifyReceipt(receipt)).ok).to.equal(true);
    // No longer open: no QR, and a second scan is refused.
    const gone = await rest('GET', `transactions/${tid}/qr`);
    expect(gone.status).to.equal(409);
    expect(await gone.json()).to.include({ reason: 'transaction_answered' });
    const again = await phone('sign', scanned, '--approve', '--pin', '1234');
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.match(/answered already/);
  });

  it('QR delivery: a scan can decline; a malformed or foreign QR changes nothing', async () => {
    const res = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      amount: '42.00',
      beneficiary: 'Kiosk',
      description: 'Tea',
      delivery: 'qr',
    });
    const { tid, qrUri } = (await res.json()) as { tid: string; qrUri: string };
    const before = await ns()('ns_transactions').where({ id: tid }).first();
    const bad = await phone('sign', qrUri.replace('transaction?d=', 'transaction?d=x'), '--deny');
    expect(bad.code).to.not.equal(0);
    // Fay's phones are not erin's: the transaction is unknown to them.
    const [fay] = await fayPhones();
    const foreign = await fay?.phone.run('sign', qrUri, '--approve', '--pin', '1234');
    expect(foreign?.code).to.not.equal(0);
    expect(foreign?.stderr).to.match(/unknown_transaction|No such transaction/);
    expect(await ns()('ns_transactions').where({ id: tid }).first()).to.deep.equal(before);
    const r = JSON.parse(ok(await phone('sign', qrUri, '--deny', '--json')).stdout);
    expect(r).to.include({ id: tid, outcome: 'declined' });
    const status = (await (await rest('GET', `transactions/${tid}`)).json()) as Record<string, unknown>;
    expect(status).to.include({ status: 'declined' });
  });

  it('refuses malformed creations with problem JSON and stores nothing', async () => {
    const before = await ns()('ns_transactions').count({ n: '*' }).first();
    for (const body of [
      { amount: 12.5 },
      { amount: '1e3' },
      { currency: 'euro' },
      { beneficiary: 'a\u202eb' },
      { userid: undefined, accountid: undefined },
    ]) {
      const res = await rest('POST', 'transactions', {
        server: 'default',
        userid: 'erin',
        amount: '1.00',
        beneficiary: 'B',
        description: 'D',
        ...body,
      });
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.headers.get('content-type')).to.include('application/problem+json');
    }
    const unknownType = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      authorization_details: { type: 'nope', x: '1' },
    });
    expect(unknownType.status).to.equal(400);
    const nobody = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'nobody',
      amount: '1.00',
      beneficiary: 'B',
      description: 'D',
    });
    expect(nobody.status).to.equal(404);
    const after = await ns()('ns_transactions').count({ n: '*' }).first();
    expect(after).to.deep.equal(before);
  });

  it('a registered RFC 9396 type: its template shows the string values, numbers are refused', async () => {
    const put = await rest('PUT', 'servers/default/transaction-types/payment_initiation', {
      templates: {
        en: 'Transfer {instructedAmount.amount} {instructedAmount.currency} to {creditorName}',
        nl: 'Overschrijving van {instructedAmount.amount} {instructedAmount.currency} naar {creditorName}',
      },
    });
    expect(put.status, await put.clone().text()).to.equal(200);
    const detail = {
      type: 'payment_initiation',
      instructedAmount: { currency: 'EUR', amount: '123.50' },
      creditorName: 'Merchant A',
    };
    const res = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      locale: 'nl-BE',
      authorization_details: [detail],
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).to.include({ locale: 'nl', text: 'Overschrijving van 123.50 EUR naar Merchant A' });
    expect(created.authorizationDetails).to.deep.equal(detail);
    const floaty = await rest('POST', 'transactions', {
      server: 'default',
      userid: 'erin',
      authorization_details: { ...detail, instructedAmount: { currency: 'EUR', amount: 123.5 } },
    });
    expect(floaty.status).to.equal(400);
    expect(((await floaty.json()) as { reason: string }).reason).to.equal('invalid_values');
    ok(await phone('deny', (created as { tid: string }).tid));
  });
});
