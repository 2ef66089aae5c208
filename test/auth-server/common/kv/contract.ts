// The one behaviour suite every Kv implementation must pass (memory and Redis run the same assertions).
import { expect } from 'chai';
import type { Context } from 'mocha';
import type { Kv } from '../../../../auth-server/common/kv/kv.js';
import type { HandlerErrorReporter } from '../../../../auth-server/common/kv/memory.js';

export interface KvHarness {
  /** A new client; clients with the same prefix share keys and channels, as instances of one deployment do. */
  client(prefix: string, options?: { onHandlerError?: HandlerErrorReporter }): Promise<Kv>;
  /** The clock the store expires keys by. */
  now(): number;
  /** Lets time pass for TTLs (a fake clock moves; a real server needs real time). */
  elapse(ms: number): Promise<void>;
  /** Base TTL for tests: tiny with a fake clock costs nothing, with real time it bounds the suite's length. */
  ttlUnitMs: number;
  /** Removes whatever the run left behind. */
  cleanup(): Promise<void>;
}

/** Resolves after every pending delivery had a chance to run (a message is several event-loop turns away). */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function collector() {
  const messages: string[] = [];
  return {
    messages,
    handler: (message: string) => {
      messages.push(message);
    },
    received: (n: number) => waitFor(() => messages.length >= n, `${n} message(s), got ${messages.length}`),
  };
}

export function kvContract(name: string, factory: (ctx: Context) => Promise<KvHarness>): void {
  describe(`Kv contract: ${name}`, () => {
    let h: KvHarness;
    let kv: Kv;
    let clients: Kv[] = [];
    let testNumber = 0;
    let prefix = '';

    const client = async (clientPrefix: string, options?: { onHandlerError?: HandlerErrorReporter }) => {
      const created = await h.client(clientPrefix, options);
      clients.push(created);
      return created;
    };

    /** Polls until `key` is gone; returns the store time at which it was seen gone. */
    const goneAt = async (store: Kv, key: string, deadlineMs = 20 * h.ttlUnitMs): Promise<number> => {
      const deadline = h.now() + deadlineMs;
      for (;;) {
        const value = await store.get(key);
        const seen = h.now();
        if (value === null) return seen;
        if (seen > deadline) throw new Error(`${key} did not expire`);
        await h.elapse(Math.max(1, Math.floor(h.ttlUnitMs / 10)));
      }
    };

    before(async function () {
      h = await factory(this);
    });

    beforeEach(async () => {
      testNumber += 1;
      prefix = `t${testNumber}:`;
      kv = await client(prefix);
    });

    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
    });

    after(async () => {
      await h?.cleanup();
    });

    describe('get / set / del', () => {
      it('reads what was written and nothing else', async () => {
        expect(await kv.get('a')).to.equal(null);
        expect(await kv.set('a', 'one')).to.equal(true);
        expect(await kv.get('a')).to.equal('one');
        expect(await kv.set('a', 'two')).to.equal(true);
        expect(await kv.get('a')).to.equal('two');
        expect(await kv.get('b')).to.equal(null);
      });

      it('keeps values byte for byte (empty, unicode, large)', async () => {
        const values = ['', 'ünïcødé ✓ 🔑', 'x'.repeat(100_000)];
        for (const [i, value] of values.entries()) {
          await kv.set(`v${i}`, value);
          expect(await kv.get(`v${i}`)).to.equal(value);
        }
      });

      it('del reports whether the key existed', async () => {
        await kv.set('a', 'one');
        expect(await kv.del('a')).to.equal(true);
        expect(await kv.get('a')).to.equal(null);
        expect(await kv.del('a')).to.equal(false);
      });

      it('ifAbsent writes only a missing key and leaves an existing one untouched', async () => {
        expect(await kv.set('a', 'first', { ifAbsent: true })).to.equal(true);
        expect(await kv.set('a', 'second', { ifAbsent: true, ttlMs: h.ttlUnitMs })).to.equal(false);
        expect(await kv.get('a')).to.equal('first');
        // The refused write did not attach its TTL either.
        await h.elapse(3 * h.ttlUnitMs);
        expect(await kv.get('a')).to.equal('first');
      });

      it('of concurrent ifAbsent writers exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => kv.set('lock', `owner${i}`, { ifAbsent: true })),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).to.have.length(1);
        expect(await kv.get('lock')).to.equal(`owner${winners[0]}`);
      });
    });

    describe('TTL', () => {
      it('a key with ttlMs is visible, then gone', async () => {
        const start = h.now();
        await kv.set('a', 'one', { ttlMs: 2 * h.ttlUnitMs });
        expect(await kv.get('a')).to.equal('one');
        expect(await goneAt(kv, 'a')).to.be.at.least(start + 2 * h.ttlUnitMs);
        expect(await kv.getDel('a')).to.equal(null);
        expect(await kv.del('a')).to.equal(false);
      });

      it('an expired key counts as absent for ifAbsent', async () => {
        await kv.set('a', 'old', { ttlMs: h.ttlUnitMs });
        await goneAt(kv, 'a');
        expect(await kv.set('a', 'new', { ifAbsent: true })).to.equal(true);
        expect(await kv.get('a')).to.equal('new');
      });

      it('a write without ttlMs removes an earlier TTL', async () => {
        await kv.set('a', 'one', { ttlMs: h.ttlUnitMs });
        await kv.set('a', 'two');
        await h.elapse(3 * h.ttlUnitMs);
        expect(await kv.get('a')).to.equal('two');
      });

      for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        it(`rejects ttlMs ${bad} in every method and stores nothing`, async () => {
          await kv.set('existing', 'kept');
          await expectRejection(kv.set('new', 'x', { ttlMs: bad }));
          await expectRejection(kv.set('existing', 'x', { ttlMs: bad }));
          await expectRejection(kv.set('new', 'x', { ttlMs: bad, ifAbsent: true }));
          await expectRejection(kv.compareAndSet('existing', 'kept', 'x', { ttlMs: bad }));
          await expectRejection(kv.compareAndSet('new', null, 'x', { ttlMs: bad }));
          await expectRejection(kv.incr('counter', { ttlMs: bad }));
          expect(await kv.get('new')).to.equal(null);
          expect(await kv.get('counter')).to.equal(null);
          expect(await kv.get('existing')).to.equal('kept');
        });
      }
    });

    describe('getDel', () => {
      it('returns the value once and removes it', async () => {
        await kv.set('code', 'secret');
        expect(await kv.getDel('code')).to.equal('secret');
        expect(await kv.get('code')).to.equal(null);
        expect(await kv.getDel('code')).to.equal(null);
      });

      it('of 50 concurrent callers exactly one gets the value', async () => {
        await kv.set('code', 'secret', { ttlMs: 100 * h.ttlUnitMs });
        // A second client of the same deployment races too, as another instance would.
        const other = await client(prefix);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? kv : other).getDel('code')),
        );
        expect(results.filter((r) => r === 'secret')).to.have.length(1);
        expect(results.filter((r) => r === null)).to.have.length(49);
        expect(await kv.get('code')).to.equal(null);
      });
    });

    describe('compareAndSet', () => {
      it('expected null creates a missing key', async () => {
        expect(await kv.compareAndSet('s', null, 'created')).to.equal(true);
        expect(await kv.get('s')).to.equal('created');
      });

      it('expected null refuses an existing key and changes nothing', async () => {
        await kv.set('s', 'current');
        expect(await kv.compareAndSet('s', null, 'other')).to.equal(false);
        expect(await kv.get('s')).to.equal('current');
      });

      it('a wrong expected value refuses and changes nothing', async () => {
        await kv.set('s', 'current');
        expect(await kv.compareAndSet('s', 'stale', 'other')).to.equal(false);
        expect(await kv.compareAndSet('s', '', 'other')).to.equal(false);
        expect(await kv.get('s')).to.equal('current');
      });

      it('an expected value on a missing key refuses and creates nothing', async () => {
        expect(await kv.compareAndSet('s', 'anything', 'other')).to.equal(false);
        expect(await kv.compareAndSet('s', '', 'other')).to.equal(false);
        expect(await kv.get('s')).to.equal(null);
      });

      it('the right expected value swaps', async () => {
        await kv.set('s', 'pending');
        expect(await kv.compareAndSet('s', 'pending', 'confirmed')).to.equal(true);
        expect(await kv.get('s')).to.equal('confirmed');
        expect(await kv.compareAndSet('s', 'pending', 'again')).to.equal(false);
        expect(await kv.get('s')).to.equal('confirmed');
      });

      it('the empty string is a value, not absence', async () => {
        await kv.set('s', '');
        expect(await kv.compareAndSet('s', null, 'x')).to.equal(false);
        expect(await kv.compareAndSet('s', '', 'x')).to.equal(true);
        expect(await kv.get('s')).to.equal('x');
      });

      it('of 50 concurrent swaps from one value exactly one wins', async () => {
        await kv.set('s', 'pending');
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => kv.compareAndSet('s', 'pending', `winner${i}`)),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).to.have.length(1);
        expect(await kv.get('s')).to.equal(`winner${winners[0]}`);
      });

      it('of 50 concurrent creations exactly one wins', async () => {
        const other = await client(prefix);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? kv : other).compareAndSet('s', null, `winner${i}`),
          ),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).to.have.length(1);
        expect(await kv.get('s')).to.equal(`winner${winners[0]}`);
      });

      it('with ttlMs the new value expires', async () => {
        await kv.set('s', 'pending');
        expect(await kv.compareAndSet('s', 'pending', 'confirmed', { ttlMs: h.ttlUnitMs })).to.equal(true);
        await goneAt(kv, 's');
      });

      it('without ttlMs the key keeps its remaining TTL', async () => {
        await kv.set('s', 'pending', { ttlMs: 2 * h.ttlUnitMs });
        expect(await kv.compareAndSet('s', 'pending', 'confirmed')).to.equal(true);
        expect(await kv.get('s')).to.equal('confirmed');
        await goneAt(kv, 's');
      });
    });

    describe('incr', () => {
      it('counts from 1', async () => {
        const ttl = { ttlMs: 100 * h.ttlUnitMs };
        expect(await kv.incr('n', ttl)).to.equal(1);
        expect(await kv.incr('n', ttl)).to.equal(2);
        expect(await kv.incr('n', ttl)).to.equal(3);
        expect(await kv.get('n')).to.equal('3');
      });

      it('sets the TTL on creation and later increments do not extend it', async () => {
        const ttlMs = 4 * h.ttlUnitMs;
        expect(await kv.incr('n', { ttlMs })).to.equal(1);
        await h.elapse(2 * h.ttlUnitMs);
        const second = h.now();
        expect(await kv.incr('n', { ttlMs })).to.equal(2);
        // Extended, the counter would live until second + ttlMs.
        expect(await goneAt(kv, 'n')).to.be.below(second + ttlMs);
        expect(await kv.incr('n', { ttlMs })).to.equal(1);
      });

      it('gives a counter written without expiry one', async () => {
        await kv.set('n', '5');
        expect(await kv.incr('n', { ttlMs: h.ttlUnitMs })).to.equal(6);
        await goneAt(kv, 'n');
      });

      it('rejects a value that is not an integer and leaves it unchanged', async () => {
        for (const value of ['abc', '1.5', '', ' 1']) {
          await kv.set('n', value);
          await expectRejection(kv.incr('n', { ttlMs: h.ttlUnitMs }));
          expect(await kv.get('n')).to.equal(value);
        }
        // Still without TTL: the refused increment attached none.
        await h.elapse(3 * h.ttlUnitMs);
        expect(await kv.get('n')).to.equal(' 1');
      });

      it('counts every one of 50 concurrent increments', async () => {
        const other = await client(prefix);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? kv : other).incr('n', { ttlMs: 100 * h.ttlUnitMs }),
          ),
        );
        expect([...results].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
      });
    });

    describe('sets', () => {
      it('collects members once each; a missing set has none', async () => {
        expect(await kv.setMembers('s')).to.deep.equal([]);
        await kv.setAdd('s', 'a');
        await kv.setAdd('s', 'b');
        await kv.setAdd('s', 'a');
        await kv.setAdd('s', '');
        expect((await kv.setMembers('s')).sort()).to.deep.equal(['', 'a', 'b']);
        expect(await kv.del('s')).to.equal(true);
        expect(await kv.setMembers('s')).to.deep.equal([]);
      });

      it('keeps every one of 50 concurrent additions from two clients', async () => {
        const other = await client(prefix);
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? kv : other).setAdd('s', `m${i}`, { ttlMs: 100 * h.ttlUnitMs }),
          ),
        );
        expect(await kv.setMembers('s')).to.have.members(Array.from({ length: 50 }, (_, i) => `m${i}`));
      });

      it('the expiry only grows: a shorter ttlMs does not shorten it, a longer one extends it', async () => {
        const start = h.now();
        await kv.setAdd('s', 'a', { ttlMs: 3 * h.ttlUnitMs });
        await kv.setAdd('s', 'b', { ttlMs: h.ttlUnitMs });
        await h.elapse(2 * h.ttlUnitMs);
        expect((await kv.setMembers('s')).sort()).to.deep.equal(['a', 'b']);
        await kv.setAdd('s', 'c', { ttlMs: 4 * h.ttlUnitMs });
        await h.elapse(2 * h.ttlUnitMs);
        expect(await kv.setMembers('s')).to.have.length(3);
        const gone = async () => {
          const deadline = h.now() + 20 * h.ttlUnitMs;
          while ((await kv.setMembers('s')).length > 0) {
            if (h.now() > deadline) throw new Error('set did not expire');
            await h.elapse(Math.max(1, Math.floor(h.ttlUnitMs / 10)));
          }
          return h.now();
        };
        expect(await gone()).to.be.at.least(start + 6 * h.ttlUnitMs);
      });

      it('an addition without ttlMs makes the set permanent, and later ttlMs do not bring expiry back', async () => {
        await kv.setAdd('s', 'a', { ttlMs: h.ttlUnitMs });
        await kv.setAdd('s', 'b');
        await kv.setAdd('s', 'c', { ttlMs: h.ttlUnitMs });
        await h.elapse(3 * h.ttlUnitMs);
        expect((await kv.setMembers('s')).sort()).to.deep.equal(['a', 'b', 'c']);
      });

      it('value methods reject on a set, set methods on a value, changing nothing; set and del take either', async () => {
        await kv.setAdd('s', 'a');
        await kv.set('v', 'one');
        await expectRejection(kv.get('s'));
        await expectRejection(kv.getDel('s'));
        await expectRejection(kv.compareAndSet('s', 'a', 'x'));
        await expectRejection(kv.incr('s', { ttlMs: h.ttlUnitMs }));
        await expectRejection(kv.setAdd('v', 'a'));
        await expectRejection(kv.setMembers('v'));
        expect(await kv.setMembers('s')).to.deep.equal(['a']);
        expect(await kv.get('v')).to.equal('one');
        expect(await kv.set('s', 'replaced', { ifAbsent: true })).to.equal(false);
        expect(await kv.set('s', 'replaced')).to.equal(true);
        expect(await kv.get('s')).to.equal('replaced');
        await kv.setAdd('t', 'a');
        expect(await kv.del('t')).to.equal(true);
      });

      it('rejects an invalid ttlMs and adds nothing', async () => {
        await expectRejection(kv.setAdd('s', 'a', { ttlMs: 0 }));
        await expectRejection(kv.setAdd('s', 'a', { ttlMs: 1.5 }));
        expect(await kv.setMembers('s')).to.deep.equal([]);
      });
    });

    describe('pub/sub', () => {
      it('delivers to every subscriber, on this and on other clients', async () => {
        const other = await client(prefix);
        const [a, b, c] = [collector(), collector(), collector()];
        await kv.subscribe('ch', a.handler);
        await kv.subscribe('ch', b.handler);
        await other.subscribe('ch', c.handler);
        await other.publish('ch', 'hello');
        await Promise.all([a.received(1), b.received(1), c.received(1)]);
        for (const x of [a, b, c]) expect(x.messages).to.deep.equal(['hello']);
      });

      it('never delivers inside publish', async () => {
        const a = collector();
        await kv.subscribe('ch', a.handler);
        const published = kv.publish('ch', 'm');
        expect(a.messages).to.deep.equal([]);
        await published;
        await a.received(1);
      });

      it('keeps publish order', async () => {
        const a = collector();
        await kv.subscribe('ch', a.handler);
        const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
        for (const m of sent) await kv.publish('ch', m);
        await a.received(sent.length);
        expect(a.messages).to.deep.equal(sent);
      });

      it('unsubscribe stops delivery to that handler only, and twice is harmless', async () => {
        const [a, b] = [collector(), collector()];
        const stopA = await kv.subscribe('ch', a.handler);
        await kv.subscribe('ch', b.handler);
        await kv.publish('ch', 'one');
        await Promise.all([a.received(1), b.received(1)]);
        await stopA();
        await stopA();
        await kv.publish('ch', 'two');
        await b.received(2);
        expect(a.messages).to.deep.equal(['one']);
        expect(b.messages).to.deep.equal(['one', 'two']);
      });

      it('the last unsubscribe ends the channel; subscribing again works', async () => {
        const a = collector();
        const stop = await kv.subscribe('ch', a.handler);
        await stop();
        await kv.publish('ch', 'lost');
        const b = collector();
        await kv.subscribe('ch', b.handler);
        await kv.publish('ch', 'found');
        await b.received(1);
        expect(b.messages).to.deep.equal(['found']);
        expect(a.messages).to.deep.equal([]);
      });

      it('keeps channels apart', async () => {
        const [one, two] = [collector(), collector()];
        await kv.subscribe('one', one.handler);
        await kv.subscribe('two', two.handler);
        // Delivery keeps publish order, so anything misrouted would arrive before the awaited message.
        await kv.publish('two', 'for-two');
        await kv.publish('one', 'for-one');
        await Promise.all([one.received(1), two.received(1)]);
        expect(one.messages).to.deep.equal(['for-one']);
        expect(two.messages).to.deep.equal(['for-two']);
      });

      it('an exception in one handler reaches onHandlerError and spares the others', async () => {
        const reported: [unknown, string][] = [];
        const reporting = await client(prefix, {
          onHandlerError: (error, channel) => reported.push([error, channel]),
        });
        const a = collector();
        await reporting.subscribe('ch', () => {
          throw new Error('handler bug');
        });
        await reporting.subscribe('ch', a.handler);
        await reporting.publish('ch', 'one');
        await reporting.publish('ch', 'two');
        await a.received(2);
        expect(a.messages).to.deep.equal(['one', 'two']);
        expect(reported.map(([error, channel]) => [(error as Error).message, channel])).to.deep.equal([
          ['handler bug', 'ch'],
          ['handler bug', 'ch'],
        ]);
      });
    });

    describe('prefix', () => {
      it('clients with different prefixes share neither keys nor messages', async () => {
        const stranger = await client(`${prefix}other:`);
        await kv.set('a', 'mine');
        await stranger.set('a', 'theirs');
        expect(await kv.get('a')).to.equal('mine');
        expect(await stranger.getDel('a')).to.equal('theirs');
        expect(await kv.get('a')).to.equal('mine');
        expect(await stranger.compareAndSet('a', 'mine', 'stolen')).to.equal(false);
        expect(await kv.get('a')).to.equal('mine');

        const [mine, theirs] = [collector(), collector()];
        await kv.subscribe('ch', mine.handler);
        await stranger.subscribe('ch', theirs.handler);
        await stranger.publish('ch', 'from-stranger');
        await kv.publish('ch', 'from-me');
        await Promise.all([mine.received(1), theirs.received(1)]);
        expect(mine.messages).to.deep.equal(['from-me']);
        expect(theirs.messages).to.deep.equal(['from-stranger']);
      });

      it('clients with the same prefix share keys', async () => {
        const sibling = await client(prefix);
        await kv.set('a', 'shared');
        expect(await sibling.getDel('a')).to.equal('shared');
        expect(await kv.get('a')).to.equal(null);
      });
    });

    describe('ping / close', () => {
      it('ping resolves on an open client', async () => {
        await kv.ping();
      });

      it('after close every method rejects; close is idempotent', async () => {
        await kv.set('a', 'kept');
        await kv.close();
        await kv.close();
        await expectRejection(kv.ping());
        await expectRejection(kv.get('a'));
        await expectRejection(kv.set('a', 'x'));
        await expectRejection(kv.getDel('a'));
        await expectRejection(kv.compareAndSet('a', 'kept', 'x'));
        await expectRejection(kv.incr('n', { ttlMs: h.ttlUnitMs }));
        await expectRejection(kv.setAdd('s', 'x'));
        await expectRejection(kv.setMembers('s'));
        await expectRejection(kv.publish('ch', 'x'));
        await expectRejection(kv.subscribe('ch', () => {}));
        // Other clients still see the data untouched.
        const sibling = await client(prefix);
        expect(await sibling.get('a')).to.equal('kept');
        expect(await sibling.get('n')).to.equal(null);
      });

      it('close ends the client’s subscriptions', async () => {
        const sibling = await client(prefix);
        const [closed, open] = [collector(), collector()];
        await kv.subscribe('ch', closed.handler);
        await sibling.subscribe('ch', open.handler);
        await kv.close();
        await sibling.publish('ch', 'after-close');
        await open.received(1);
        expect(closed.messages).to.deep.equal([]);
      });
    });
  });
}

async function expectRejection(promise: Promise<unknown>): Promise<void> {
  let rejected = false;
  try {
    await promise;
  } catch {
    rejected = true;
  }
  expect(rejected, 'expected the call to reject').to.equal(true);
}
