// End to end: `nextauth-device pending` and `listen` (real child processes) against an embedded runtime
// started in-process, with messages sealed and posted through its McPeer as NS will do it.
import { expect } from 'chai';
import type { McPeer } from '../../../auth-server/common/peers.js';
import type { Runtime } from '../../../idp/runtime/runtime.js';
import { newMcMessageId, sealMcMessage } from '../../../protocol/mobile/mc-seal.js';
import { exited, spawnCli } from '../../helpers/cli.js';
import { deviceCli, newPhone, ok, type Phone } from '../../helpers/device.js';
import { startTestRuntime, type TestRuntime } from '../../helpers/runtime.js';

describe('e2e: nextauth-device pending and listen', function () {
  this.timeout(60_000);
  let started: TestRuntime | undefined;
  let device: Phone;
  let home: string;
  let runtime: Runtime;
  let url: string;

  before(async () => {
    device = await newPhone();
    home = device.home;
    started = await startTestRuntime({ services: ['sfs', 'mc', 'ns'] });
    ({ runtime, url } = started);
  });

  after(async () => {
    await started?.close();
    await device?.remove();
  });

  const phone = (...args: string[]) => device.run(...args);

  /** What NS does: find the device's instance, seal for its mailbox key, post. */
  async function post(text: string): Promise<string> {
    const mc = runtime.peers.mc as McPeer;
    const row = (await runtime.dbs.mc?.('mc_app_instances').first()) as { key_thumbprint: string };
    const recipient = await mc.recipient({ instanceKeyThumbprint: row.key_thumbprint });
    if (!recipient) throw new Error('device not registered at the MC');
    const sealed = await sealMcMessage({
      recipientKey: recipient.encryptionKey,
      instanceId: recipient.instanceId,
      id: newMcMessageId(),
      expiresAt: Date.now() + 5 * 60_000,
      plaintext: text,
    });
    return (await mc.post({ instanceId: recipient.instanceId, sealed })).id;
  }

  it('pending leaves messages that are no requests alone; listen prints each message once and acks it', async () => {
    ok(await phone('init', url));
    // The first MC session registers the instance and its mailbox key.
    expect(JSON.parse(ok(await phone('pending', '--json')).stdout)).to.deep.equal([]);
    expect(ok(await phone('pending')).stdout.trim()).to.equal('No pending requests.');

    const first = await post('{"type":"hello","n":1}');
    // `pending` lists requests (push logins) only; a message it does not know stays in the mailbox.
    expect(JSON.parse(ok(await phone('pending', '--json')).stdout)).to.deep.equal([]);

    const child = spawnCli(deviceCli, ['listen', '--json', '--count', '2', '--home', home], {});
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const subscribed = new Promise<void>((resolve) => {
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening')) resolve();
      });
    });
    await Promise.race([subscribed, exited(child)]);
    const second = await post('live message');
    expect(await exited(child), stderr).to.equal(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.payload])).to.deep.equal([
      [first, '{"type":"hello","n":1}'],
      [second, 'live message'],
    ]);
    // Both were acknowledged after printing: the mailbox is empty.
    expect(JSON.parse(ok(await phone('pending', '--json')).stdout)).to.deep.equal([]);
  });

  it('listen --count 0 is refused with one line', async () => {
    const r = await phone('listen', '--count', '0');
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.equal('nextauth-device: invalid_input: --count must be a positive integer');
  });

  it('--push-token other than fcm:T or apns:T is refused with one line before anything is registered', async () => {
    const before = await runtime.dbs.mc?.('mc_app_instances');
    const r = await phone('pending', '--push-token', 'gcm:abc');
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      'nextauth-device: invalid_input: --push-token must be fcm:TOKEN or apns:TOKEN',
    );
    expect(await runtime.dbs.mc?.('mc_app_instances')).to.deep.equal(before);
  });
});
