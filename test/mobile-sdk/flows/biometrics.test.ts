// ADD_BIOMETRICS, REMOVE_BIOMETRICS and bio logins against the fake SFS: PIN fallbacks, invalidation, refusals.
import { expect } from 'chai';
import { readBioRecord } from '../../../mobile-sdk/core/biometrics/bio-key.js';
import type { LoginOptions } from '../../../mobile-sdk/core/flows/login.js';
import { type World, world } from '../fakes.js';
import { enrol, expectAsk, expectError, trail } from './helpers.js';

async function addBio(w: World, pin = '1234') {
  const flow = w.sdk.startAddBiometrics();
  const ask = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
  expect(ask.interaction).to.deep.include({ purpose: 'bio_add', attemptsLeft: null });
  flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin });
  const done = await flow.settled();
  expect(done.state, done.error?.message).to.equal('DONE');
  return { flow, done };
}

/** A login up to its second factor: resolves with the step after CONFIRM. */
async function confirmLogin(w: World, options: LoginOptions = {}) {
  const flow = w.sdk.startLogin(w.ns.loginUri().uri, options);
  await expectAsk(flow, 'CONFIRM');
  flow.respond({ type: 'CONFIRM', decision: 'approve' });
  return { flow, step: await flow.settled() };
}

const bioKeyAliases = (w: World) => [...w.keyStore.keys.keys()].filter((a) => a.startsWith('bio-'));

describe('mobile-sdk/core/flows: biometrics', () => {
  describe('ADD_BIOMETRICS', () => {
    it('checks the PIN at the SFS, registers a biometric key there; the next login needs no PIN', async () => {
      const w = await enrolled();
      const { flow, done } = await addBio(w);
      expect(done.result?.replaced).to.equal(false);
      expect(trail(flow)).to.deep.equal(['PROCESSING', 'WAIT:VERIFY_SECOND_FACTOR', 'PROCESSING', 'DONE']);
      expect(w.sfs.bioKeys.size).to.equal(1);
      expect(bioKeyAliases(w)).to.have.length(1);
      expect(await w.sdk.biometricsStatus()).to.deep.equal({
        available: true,
        enabled: true,
        invalidated: false,
      });

      const { flow: login, step } = await confirmLogin(w);
      expect(step.state, step.error?.message).to.equal('DONE');
      expect(step.result).to.deep.include({ outcome: 'approved', method: 'bio' });
      expect(step.result?.fallback).to.equal(undefined);
      expect(trail(login)).to.deep.equal(['PROCESSING', 'WAIT:CONFIRM', 'PROCESSING', 'DONE']);
      expect(w.sfs.bioAttests).to.equal(1);
      expect(w.biometrics.prompts.at(-1)).to.match(/^Log in as alice/);
      expect(w.ns.logins.at(-1)?.status).to.equal('loggedin');
    });

    it('a wrong PIN asks again with the attempts left and creates no key until the SFS accepted one', async () => {
      const w = await enrolled();
      const flow = w.sdk.startAddBiometrics();
      await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
      const again = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      expect(again.interaction).to.deep.include({ attemptsLeft: 2, purpose: 'bio_add' });
      expect(w.sfs.bioKeys.size).to.equal(0);
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
      expect((await flow.settled()).state).to.equal('DONE');
      expect(w.sfs.bioKeys.size).to.equal(1);
      expect(bioKeyAliases(w)).to.have.length(1);
    });

    it('wrong PINs until the lockout end in pin_locked; no key is left on the device or at the SFS', async () => {
      const w = await enrolled();
      const flow = w.sdk.startAddBiometrics();
      for (const left of [null, 2, 1]) {
        const ask = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
        expect(ask.interaction).to.deep.include({ attemptsLeft: left });
        flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
      }
      await expectError(flow, 'pin_locked');
      expect(w.sfs.bioKeys.size).to.equal(0);
      expect(bioKeyAliases(w)).to.deep.equal([]);
      expect(await readBioRecord(w.storage)).to.equal(undefined);
      expect((await w.sdk.history())[0]).to.deep.include({ flow: 'add_biometrics', outcome: 'ERROR' });
    });

    it('without an enrolled biometric is bio_unavailable before anything is asked', async () => {
      const w = await enrolled();
      w.biometrics.enrolled = null;
      const flow = w.sdk.startAddBiometrics();
      await expectError(flow, 'bio_unavailable');
      expect(trail(flow)).to.deep.equal(['PROCESSING', 'ERROR:bio_unavailable']);
      expect(w.sfs.bioKeys.size).to.equal(0);
    });

    it('a biometric that does not match ends in bio_failed with no key anywhere and no PIN attempt spent', async () => {
      const w = await enrolled();
      w.biometrics.next.push('failed');
      const flow = w.sdk.startAddBiometrics();
      await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
      await expectError(flow, 'bio_failed');
      expect(w.sfs.bioKeys.size).to.equal(0);
      expect(bioKeyAliases(w)).to.deep.equal([]);
      expect([...w.sfs.instances.values()][0]?.failures).to.equal(0);
    });

    it('adding again replaces the key on both sides', async () => {
      const w = await enrolled();
      await addBio(w);
      const first = await readBioRecord(w.storage);
      const { done } = await addBio(w);
      expect(done.result?.replaced).to.equal(true);
      const second = await readBioRecord(w.storage);
      expect(second?.alias).to.not.equal(first?.alias);
      expect(bioKeyAliases(w)).to.deep.equal([second?.alias]);
      expect(w.sfs.bioKeys.size).to.equal(1);
    });

    it('without an account is account_not_found', async () => {
      const w = await world();
      await expectError(w.sdk.startAddBiometrics(), 'account_not_found');
    });
  });

  describe('bio logins', () => {
    it('a biometric miss falls back to the PIN (fallback bio_failed) and keeps the key', async () => {
      const w = await withBio();
      w.biometrics.next.push('failed');
      const { flow, step } = await confirmLogin(w);
      expect(step.interaction).to.deep.include({
        type: 'VERIFY_SECOND_FACTOR',
        attemptsLeft: null,
        fallback: 'bio_failed',
      });
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
      const done = await flow.settled();
      expect(done.result).to.deep.include({ outcome: 'approved', method: 'pin', fallback: 'bio_failed' });
      expect((await w.sdk.biometricsStatus()).enabled).to.equal(true);
      expect([...w.sfs.instances.values()][0]?.failures).to.equal(0);
    });

    it('a changed biometric set invalidates the key: deleted on the device and at the SFS, PIN asked', async () => {
      const w = await withBio();
      w.biometrics.change();
      expect(await w.sdk.biometricsStatus()).to.deep.include({ enabled: false, invalidated: true });
      const { flow, step } = await confirmLogin(w);
      expect(step.interaction).to.deep.include({ type: 'VERIFY_SECOND_FACTOR', fallback: 'bio_invalidated' });
      // Gone before the user even answers: the old key must never sign again.
      expect(bioKeyAliases(w)).to.deep.equal([]);
      expect(w.sfs.bioKeys.size).to.equal(0);
      expect(w.biometrics.prompts).to.deep.equal(['Use biometrics to confirm logins']);
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
      const done = await flow.settled();
      expect(done.result).to.deep.include({ method: 'pin', fallback: 'bio_invalidated' });
      expect(await w.sdk.biometricsStatus()).to.deep.equal({
        available: true,
        enabled: false,
        invalidated: false,
      });
      // The next login is a plain PIN login.
      const next = await confirmLogin(w);
      expect(next.step.interaction).to.not.have.property('fallback');
      next.flow.cancel();
    });

    it('a key the SFS no longer knows is dropped on the device too (bio_invalidated)', async () => {
      const w = await withBio();
      w.sfs.bioKeys.clear();
      const { flow, step } = await confirmLogin(w);
      expect(step.interaction).to.deep.include({ fallback: 'bio_invalidated' });
      expect(bioKeyAliases(w)).to.deep.equal([]);
      flow.cancel();
    });

    it('a server whose policy refuses biometrics gets the PIN (bio_not_allowed); the key stays', async () => {
      const w = await withBio();
      w.sfs.bioAllowed = false;
      const { flow, step } = await confirmLogin(w);
      expect(step.interaction).to.deep.include({ fallback: 'bio_not_allowed' });
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
      expect((await flow.settled()).result).to.deep.include({ method: 'pin' });
      expect(bioKeyAliases(w)).to.have.length(1);
    });

    it("secondFactor 'pin' uses the PIN although a key exists; 'bio' without a key is bio_not_enrolled", async () => {
      const w = await withBio();
      const pinOnly = await confirmLogin(w, { secondFactor: 'pin' });
      expect(pinOnly.step.interaction).to.deep.include({ type: 'VERIFY_SECOND_FACTOR', attemptsLeft: null });
      expect(pinOnly.step.interaction).to.not.have.property('fallback');
      pinOnly.flow.cancel();

      const plain = await enrolled();
      const { flow } = await confirmLogin(plain, { secondFactor: 'bio' });
      await expectError(flow, 'bio_not_enrolled');
      expect(plain.ns.logins.at(-1)?.status).to.equal('scanned');
    });
  });

  describe('REMOVE_BIOMETRICS', () => {
    it('deletes the key on the device and at the SFS without a PIN; logins then ask for the PIN', async () => {
      const w = await withBio();
      const flow = w.sdk.startRemoveBiometrics();
      const done = await flow.settled();
      expect(done.state, done.error?.message).to.equal('DONE');
      expect(done.result).to.deep.equal({ local: true, sfs: true });
      expect(trail(flow)).to.deep.equal(['PROCESSING', 'DONE']);
      expect(bioKeyAliases(w)).to.deep.equal([]);
      expect(w.sfs.bioKeys.size).to.equal(0);
      const { flow: login, step } = await confirmLogin(w);
      expect(step.interaction).to.deep.include({ type: 'VERIFY_SECOND_FACTOR' });
      expect(step.interaction).to.not.have.property('fallback');
      login.cancel();
      const [entry] = (await w.sdk.history()).filter((e) => e.flow === 'remove_biometrics');
      expect(entry).to.deep.include({ outcome: 'BIO_REMOVED' });
    });

    it('with nothing to remove says so (BIO_REMOVED not_registered)', async () => {
      const w = await enrolled();
      const done = await w.sdk.startRemoveBiometrics().settled();
      expect(done.result).to.deep.equal({ local: false, sfs: false });
      expect((await w.sdk.history())[0]).to.deep.include({
        outcome: 'BIO_REMOVED',
        reason: 'not_registered',
      });
    });

    it('an unreachable SFS still removes the key from the device, and the flow says unreachable', async () => {
      const w = await withBio();
      const config = w.sdk.configuration;
      expect(config).to.not.equal(null);
      w.transports.refuse = true;
      await expectError(w.sdk.startRemoveBiometrics(), 'unreachable');
      expect(bioKeyAliases(w)).to.deep.equal([]);
      expect(w.sfs.bioKeys.size).to.equal(1);
    });
  });

  describe('one flow at a time', () => {
    it('adding or removing biometrics while a login waits is flow_active, and the login goes on', async () => {
      const w = await withBio();
      const login = w.sdk.startLogin(w.ns.loginUri().uri);
      await expectAsk(login, 'CONFIRM');
      expect(() => w.sdk.startAddBiometrics())
        .to.throw()
        .with.property('code', 'flow_active');
      expect(() => w.sdk.startRemoveBiometrics())
        .to.throw()
        .with.property('code', 'flow_active');
      login.respond({ type: 'CONFIRM', decision: 'approve' });
      expect((await login.settled()).result).to.deep.include({ method: 'bio' });
    });

    it('a login while ADD_BIOMETRICS waits for the PIN is flow_active', async () => {
      const w = await enrolled();
      const add = w.sdk.startAddBiometrics();
      await expectAsk(add, 'VERIFY_SECOND_FACTOR');
      expect(() => w.sdk.startLogin(w.ns.loginUri().uri))
        .to.throw()
        .with.property('code', 'flow_active');
      add.cancel();
      await expectError(add, 'cancelled');
      expect(bioKeyAliases(w)).to.deep.equal([]);
    });
  });
});

async function enrolled(): Promise<World> {
  const w = await world();
  await enrol(w, 'alice', '1234');
  return w;
}

async function withBio(): Promise<World> {
  const w = await enrolled();
  await addBio(w);
  return w;
}
