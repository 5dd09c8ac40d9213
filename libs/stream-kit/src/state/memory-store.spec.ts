import { MemoryStateStore } from './memory-store';

describe('MemoryStateStore', () => {
  it('reads back what was written, null for what was not, in key order', async () => {
    const store = new MemoryStateStore(() => 0);
    await store.setMany([
      { key: 'a', value: '1', ttlMs: 1000 },
      { key: 'b', value: '2', ttlMs: 1000 },
    ]);
    expect(await store.getMany(['b', 'missing', 'a'])).toEqual(['2', null, '1']);
    expect(await store.getMany([])).toEqual([]);
  });

  it('expires an entry ttlMs after its last write, by the store clock', async () => {
    let now = 1_000;
    const store = new MemoryStateStore(() => now);
    await store.setMany([{ key: 'k', value: 'v', ttlMs: 500 }]);
    now = 1_499;
    expect(await store.getMany(['k'])).toEqual(['v']);
    // A rewrite pushes the expiry out.
    await store.setMany([{ key: 'k', value: 'v2', ttlMs: 500 }]);
    now = 1_998;
    expect(await store.getMany(['k'])).toEqual(['v2']);
    now = 1_999;
    expect(await store.getMany(['k'])).toEqual([null]);
    expect(store.size).toBe(0);
  });

  it('deletes a key written with a null value', async () => {
    const store = new MemoryStateStore(() => 0);
    await store.setMany([{ key: 'k', value: 'v', ttlMs: 1000 }]);
    await store.setMany([{ key: 'k', value: null, ttlMs: 1000 }]);
    expect(await store.getMany(['k'])).toEqual([null]);
    expect(store.size).toBe(0);
  });

  it('sweeps expired entries it is never asked about, so memory stays bounded', async () => {
    let now = 0;
    const store = new MemoryStateStore(() => now);
    await store.setMany(
      Array.from({ length: 5_000 }, (_, i) => ({ key: `old${i}`, value: 'x', ttlMs: 10 })),
    );
    now = 100;
    await store.setMany(
      Array.from({ length: 6_000 }, (_, i) => ({ key: `new${i}`, value: 'x', ttlMs: 10_000 })),
    );
    expect(store.size).toBe(6_000);
  });

  it('forgets everything on close', async () => {
    const store = new MemoryStateStore(() => 0);
    await store.setMany([{ key: 'k', value: 'v', ttlMs: 1000 }]);
    await store.close();
    expect(await store.getMany(['k'])).toEqual([null]);
  });
});
