// NextAuthSdk facade: one active flow, answer validation, cancel, configuration trust, the flow driver.
import { expect } from 'chai';
import { generatePublisherKey } from '../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../idp/admin/sdk-config/sign.js';
import { SdkError } from '../../mobile-sdk/core/errors.js';
import { driveFlow, type FlowAnswerer } from '../../mobile-sdk/core/flows/drive.js';
import { NextAuthSdk } from '../../mobile-sdk/core/sdk.js';
import { SFS_URL, world } from './fakes.js';
import { enrol, expectAsk, expectError, trail } from './flows/helpers.js';

function throwsCode(run: () => unknown, code: string): SdkError {
  try {
    run();
  } catch (err) {
    expect(err).to.be.instanceOf(SdkError);
    expect((err as SdkError).code).to.equal(code);
    return err as SdkError;
  }
  throw new Error(`expected ${code}`);
}

describe('mobile-sdk/core: NextAuthSdk', () => {
  it('runs one flow at a time: a second start is flow_active until the first ends', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const first = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(first, 'CONFIRM');
    throwsCode(() => w.sdk.startLogin(w.ns.loginUri().uri), 'flow_active');
    throwsCode(() => w.sdk.startEnrol('nextauth://enrol?d=x'), 'flow_active');
    expect(w.sdk.activeFlow).to.equal(first);
    first.respond({ type: 'CONFIRM', decision: 'decline' });
    expect((await first.settled()).state).to.equal('DONE');
    expect(w.sdk.activeFlow).to.equal(null);
    const second = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(second, 'CONFIRM');
    second.cancel();
  });

  it('refuses answers that do not fit (flow unchanged) and answers while PROCESSING', async () => {
    const w = await world();
    const flow = w.sdk.startEnrol(await w.ns.enrolUri('alice'));
    throwsCode(() => flow.respond({ type: 'CONFIRM', decision: 'approve' }), 'invalid_input');
    await expectAsk(flow, 'CONFIRM');
    throwsCode(() => flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' }), 'invalid_input');
    throwsCode(() => flow.respond({ type: 'CONFIRM', decision: 'not_me' }), 'invalid_input');
    expect(flow.state).to.equal('WAIT_FOR_INPUT');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    const bad = throwsCode(() => flow.respond({ type: 'SET_SECOND_FACTOR', pin: '12' }), 'invalid_input');
    expect(bad.message).to.contain('4 to 12 digits');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '123456' });
    expect((await flow.settled()).state).to.equal('DONE');
  });

  it('cancel ends a waiting flow with ERROR cancelled and frees the slot', async () => {
    const w = await world();
    const flow = w.sdk.startEnrol(await w.ns.enrolUri('alice'));
    await expectAsk(flow, 'CONFIRM');
    const seen: string[] = [];
    flow.onChange((s) => seen.push(s.state));
    flow.cancel();
    await expectError(flow, 'cancelled');
    expect(seen).to.deep.equal(['ERROR']);
    expect(trail(flow)).to.deep.equal(['PROCESSING', 'WAIT:CONFIRM', 'ERROR:cancelled']);
    throwsCode(() => flow.respond({ type: 'CONFIRM', decision: 'approve' }), 'invalid_input');
    expect(w.sdk.activeFlow).to.equal(null);
    expect(await w.sdk.accounts()).to.deep.equal([]);
  });

  it('starts no flow before a configuration is verified (not_initialised)', async () => {
    const w = await world({ configure: false });
    throwsCode(() => w.sdk.startEnrol('nextauth://enrol?d=x'), 'not_initialised');
    expect(w.sdk.configuration).to.equal(null);
  });

  it('trusts the first publisher key, keeps it across restarts, and refuses another unless told to replace it', async () => {
    const w = await world();
    const reopened = await NextAuthSdk.open({
      keyStore: w.keyStore,
      storage: w.storage,
      transports: w.transports,
    });
    expect(reopened.configuration?.sfs.url).to.equal(SFS_URL);
    const other = await generatePublisherKey();
    const config = reopened.configuration;
    if (!config) throw new Error('unreachable');
    const foreign = await signSdkConfig(config, other);
    try {
      await reopened.configure(foreign, { publisherKey: other.publicJwk });
      throw new Error('expected config_invalid');
    } catch (err) {
      expect((err as SdkError).code).to.equal('config_invalid');
      expect((err as SdkError).details.reason).to.equal('untrusted_publisher');
    }
    const replaced = await reopened.configure(foreign, {
      publisherKey: other.publicJwk,
      replaceTrustedKey: true,
    });
    expect(replaced.publisherFingerprint).to.equal(other.fingerprint);
  });

  it('driveFlow: an answerer that cannot give another PIN ends the flow with pin_invalid and the attempts left', async () => {
    const w = await world();
    await enrol(w, 'alice');
    let pins = 0;
    const answerer: FlowAnswerer = {
      confirm: async () => 'approve',
      newPin: async () => '1234',
      pin: async (i) => {
        pins++;
        if (i.attemptsLeft !== null)
          throw new SdkError('pin_invalid', undefined, { attemptsLeft: i.attemptsLeft });
        return '9999';
      },
    };
    try {
      await driveFlow(w.sdk.startLogin(w.ns.loginUri().uri), answerer);
      throw new Error('expected pin_invalid');
    } catch (err) {
      expect((err as SdkError).message).to.equal('pin_invalid (2 attempts left)');
    }
    expect(pins).to.equal(2);
    const ok = await driveFlow(w.sdk.startLogin(w.ns.loginUri().uri), {
      ...answerer,
      pin: async () => '1234',
    });
    expect(ok.outcome).to.equal('approved');
  });
});
