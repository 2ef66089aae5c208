// Flow history: every flow's outcome with server, userid and time; expiry; a bad document; the ceiling.
import { expect } from 'chai';
import {
  createHistoryStore,
  HISTORY_KEY,
  type HistoryEntry,
  MAX_HISTORY_ENTRIES,
} from '../../../../mobile-sdk/core/history/store.js';
import { MemoryStorage, world } from '../../fakes.js';
import { enrol, expectAsk } from '../../flows/helpers.js';

const DAY = 24 * 60 * 60 * 1000;

/** Without the time: what a test compares. */
const strip = (entries: HistoryEntry[]) => entries.map(({ at: _at, ...rest }) => rest);

describe('mobile-sdk/core/history', () => {
  it('records ENROLLED, LOGGED_IN, ABORTED (declined, not_me, cancelled), PIN_CHANGED, DELETED and ERROR', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice', '1234');
    const server = { id: alice.server.id, name: 'default', nsUrl: alice.server.nsUrl };
    const who = { server, userid: 'alice', accountId: alice.id };

    const login = async (decision: 'approve' | 'decline' | 'not_me', pins: string[] = []) => {
      w.clock.ms += 1000;
      const flow = w.sdk.startLogin(w.ns.loginUri().uri);
      await expectAsk(flow, 'CONFIRM');
      flow.respond({ type: 'CONFIRM', decision });
      for (const pin of pins) {
        await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
        flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin });
      }
      return flow.settled();
    };
    await login('approve', ['1234']);
    await login('decline');
    await login('not_me');
    w.clock.ms += 1000;
    const cancelled = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(cancelled, 'CONFIRM');
    cancelled.cancel();
    await login('approve', ['0000', '0000', '0000']);
    w.clock.ms += 1000;
    const change = w.sdk.startChangePin();
    await expectAsk(change, 'VERIFY_SECOND_FACTOR');
    change.cancel();
    w.clock.ms += 1000;
    await w.sdk.startDeleteAccount(alice.id).settled();
    w.clock.ms += 1000;
    await w.sdk.startLogin('nextauth://nope').settled();

    const history = await w.sdk.history();
    expect(strip(history)).to.deep.equal([
      {
        flow: 'login',
        outcome: 'ERROR',
        server: null,
        userid: null,
        accountId: null,
        error: { code: 'invalid_uri' },
      },
      { flow: 'delete_account', outcome: 'DELETED', ...who },
      { flow: 'change_pin', outcome: 'ABORTED', reason: 'cancelled', ...who },
      {
        flow: 'login',
        outcome: 'ERROR',
        ...who,
        error: { code: 'pin_locked', retryAfterSeconds: 300 },
      },
      { flow: 'login', outcome: 'ABORTED', reason: 'cancelled', ...who },
      { flow: 'login', outcome: 'ABORTED', reason: 'not_me', ...who },
      { flow: 'login', outcome: 'ABORTED', reason: 'declined', ...who },
      { flow: 'login', outcome: 'LOGGED_IN', ...who },
      { flow: 'enrol', outcome: 'ENROLLED', ...who },
    ]);
    // Newest first, each with the SDK clock's time.
    expect(history[0]?.at).to.equal(w.clock.now());
    const times = history.map((e) => e.at);
    expect(times).to.deep.equal([...times].sort((a, b) => b - a));
  });

  it('records a successful PIN change and a declined enrolment', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const change = w.sdk.startChangePin();
    await expectAsk(change, 'VERIFY_SECOND_FACTOR');
    change.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    await expectAsk(change, 'SET_SECOND_FACTOR');
    change.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    await change.settled();
    const declined = w.sdk.startEnrol(await w.ns.enrolUri('bob'));
    await expectAsk(declined, 'CONFIRM');
    declined.respond({ type: 'CONFIRM', decision: 'decline' });
    await declined.settled();
    const [last, previous] = await w.sdk.history();
    expect(last).to.deep.include({ flow: 'enrol', outcome: 'ABORTED', reason: 'declined', userid: 'bob' });
    expect(last?.accountId).to.equal(null);
    expect(previous).to.deep.include({ flow: 'change_pin', outcome: 'PIN_CHANGED', userid: 'alice' });
  });

  it('a local-only removal and an account gone at NS say so', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    const bob = await enrol(w, 'bob');
    await w.sdk.removeAccount(alice.id);
    w.ns.accounts.clear();
    await w.sdk.startDeleteAccount(bob.id).settled();
    const [gone, local] = await w.sdk.history();
    expect(gone).to.deep.include({ outcome: 'DELETED', reason: 'not_found_at_ns', userid: 'bob' });
    expect(local).to.deep.include({ outcome: 'DELETED', reason: 'local_only', userid: 'alice' });
  });

  it('entries expire after the retention (90 days by default, configurable)', async () => {
    const w = await world();
    await enrol(w, 'alice');
    expect(await w.sdk.history()).to.have.length(1);
    w.clock.ms += 90 * DAY - 1;
    expect(await w.sdk.history()).to.have.length(1);
    w.clock.ms += 1;
    expect(await w.sdk.history()).to.deep.equal([]);

    const storage = new MemoryStorage();
    const store = createHistoryStore(storage, 7);
    const entry: HistoryEntry = {
      at: 0,
      flow: 'login',
      outcome: 'LOGGED_IN',
      server: null,
      userid: 'u',
      accountId: null,
    };
    await store.add(entry, 0);
    expect(await store.list(7 * DAY - 1)).to.have.length(1);
    expect(await store.list(7 * DAY)).to.deep.equal([]);
    // Expired entries leave the document at the next write.
    await store.add({ ...entry, at: 8 * DAY }, 8 * DAY);
    expect((storage.docs.get(HISTORY_KEY) as { entries: unknown[] }).entries).to.have.length(1);
    expect(() => createHistoryStore(storage, 0)).to.throw(RangeError);
  });

  it('keeps at most the newest MAX_HISTORY_ENTRIES; an unreadable document reads as empty', async () => {
    const storage = new MemoryStorage();
    const store = createHistoryStore(storage);
    const entry = (at: number): HistoryEntry => ({
      at,
      flow: 'login',
      outcome: 'LOGGED_IN',
      server: null,
      userid: null,
      accountId: null,
    });
    storage.docs.set(HISTORY_KEY, {
      v: 1,
      entries: Array.from({ length: MAX_HISTORY_ENTRIES }, (_, i) => ({ ...entry(i + 1) })),
    });
    await store.add(entry(MAX_HISTORY_ENTRIES + 1), MAX_HISTORY_ENTRIES + 1);
    const list = await store.list(MAX_HISTORY_ENTRIES + 1);
    expect(list).to.have.length(MAX_HISTORY_ENTRIES);
    expect(list[0]?.at).to.equal(MAX_HISTORY_ENTRIES + 1);
    expect(list.at(-1)?.at).to.equal(2);

    storage.docs.set(HISTORY_KEY, { v: 1, entries: [{ at: 'x' }] });
    expect(await store.list(0)).to.deep.equal([]);
  });

  it('a storage that fails to write loses the entry, never the flow', async () => {
    const w = await world();
    const set = w.storage.set.bind(w.storage);
    w.storage.set = async (key, value) => {
      if (key === HISTORY_KEY) throw new Error('disk full');
      return set(key, value);
    };
    const account = await enrol(w, 'alice');
    expect(account.userid).to.equal('alice');
    expect(await w.sdk.history()).to.deep.equal([]);
    await w.sdk.clearHistory();
  });
});
