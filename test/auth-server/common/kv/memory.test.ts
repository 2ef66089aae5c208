// MemoryKv details beyond the contract: eviction of keys nobody reads again, store ownership.
import { expect } from 'chai';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { MemoryKv, MemoryStore } from '../../../../auth-server/common/kv/memory.js';

describe('MemoryKv', () => {
  it('the periodic sweep drops expired keys nobody reads', async () => {
    const clock = new FixedClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 5 });
    const kv = new MemoryKv({ store });
    await kv.set('short', 'x', { ttlMs: 1000 });
    await kv.set('long', 'x', { ttlMs: 10_000 });
    await kv.set('forever', 'x');
    clock.advance(1000);
    const deadline = Date.now() + 2000;
    while (store.size > 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.size).to.equal(2);
    expect(await kv.get('long')).to.equal('x');
    await kv.close();
    store.close();
  });

  it('reading an expired key evicts it', async () => {
    const clock = new FixedClock();
    const kv = new MemoryKv({ clock });
    await kv.set('k', 'x', { ttlMs: 10 });
    clock.advance(10);
    expect(kv.store.size).to.equal(1);
    expect(await kv.get('k')).to.equal(null);
    expect(kv.store.size).to.equal(0);
    await kv.close();
  });

  it('closing one client of a shared store leaves the others working', async () => {
    const store = new MemoryStore();
    const [a, b] = [new MemoryKv({ store }), new MemoryKv({ store })];
    await a.set('k', 'v');
    await a.close();
    expect(await b.get('k')).to.equal('v');
    await b.close();
    store.close();
  });

  it('refuses a clock next to a shared store (it would be ignored)', () => {
    const store = new MemoryStore();
    expect(() => new MemoryKv({ store, clock: new FixedClock() })).to.throw(/pass the clock to MemoryStore/);
    store.close();
  });

  it('a throwing handler without onHandlerError surfaces as an uncaught exception', async () => {
    const kv = new MemoryKv();
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const caught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
    try {
      await kv.subscribe('ch', () => {
        throw new Error('handler bug');
      });
      await kv.publish('ch', 'm');
      expect((await caught).message).to.equal('handler bug');
    } finally {
      for (const listener of listeners) process.on('uncaughtException', listener);
      await kv.close();
    }
  });
});
