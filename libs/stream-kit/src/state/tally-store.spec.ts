import { MemoryTallyStore, type TallyOp } from './tally-store';

const zadd = (member: string | undefined, score: number, over: Partial<TallyOp> = {}): TallyOp =>
  ({
    type: 'zset',
    key: 'k',
    ...(member !== undefined ? { member } : {}),
    score,
    min: score - 100,
    trimBelow: score - 1_000,
    max: 3,
    ttlMs: 10_000,
    list: 10,
    ...over,
  }) as TallyOp;

describe('MemoryTallyStore', () => {
  it('counts members in the event-time window, including the one just added, idempotently', async () => {
    const store = new MemoryTallyStore(() => 0);
    const [a, b, again] = await store.apply([zadd('a', 1_000), zadd('b', 1_050), zadd('b', 1_050)]);
    expect(a.count).toBe(1);
    expect(b.count).toBe(2);
    expect(again).toEqual(b);
    // Out of order: an older sighting does not move a member back.
    await store.apply([zadd('b', 900)]);
    const [read] = await store.apply([zadd(undefined, 1_060)]);
    expect(read.members).toEqual([
      { member: 'a', score: 1_000 },
      { member: 'b', score: 1_050 },
    ]);
    // Outside the window: still kept, not counted.
    const [later] = await store.apply([zadd(undefined, 1_120)]);
    expect(later.count).toBe(1);
  });

  it('caps to the newest members and trims by event time', async () => {
    const store = new MemoryTallyStore(() => 0);
    await store.apply(['a', 'b', 'c', 'd'].map((m, i) => zadd(m, 1_000 + i, { min: 0 })));
    const [capped] = await store.apply([zadd(undefined, 1_003, { min: 0 })]);
    expect(capped.members.map((m) => m.member)).toEqual(['b', 'c', 'd']);
    const [trimmed] = await store.apply([zadd('e', 2_002, { min: 0 })]);
    expect(trimmed.members.map((m) => m.member)).toEqual(['c', 'd', 'e']);
    const [after] = await store.apply([zadd('f', 2_004, { min: 0 })]);
    // d (1,003) is now more than 1,000 ms older than f: trimmed.
    expect(after.members.map((m) => m.member)).toEqual(['e', 'f']);
  });

  it('counts distinct members over HyperLogLog buckets', async () => {
    const store = new MemoryTallyStore(() => 0);
    const results = await store.apply([
      { type: 'hll', addTo: 'h:1', member: 'x', countKeys: ['h:1'], ttlMs: 1_000 },
      { type: 'hll', addTo: 'h:1', member: 'x', countKeys: ['h:1'], ttlMs: 1_000 },
      { type: 'hll', addTo: 'h:2', member: 'y', countKeys: ['h:1', 'h:2'], ttlMs: 1_000 },
      { type: 'hll', countKeys: ['h:2'], ttlMs: 1_000 },
      // Added without reading (the count is 0), counted by the next read.
      { type: 'hll', addTo: 'h:2', member: 'z', countKeys: [], ttlMs: 1_000 },
      { type: 'hll', countKeys: ['h:2'], ttlMs: 1_000 },
    ]);
    expect(results.map((r) => r.count)).toEqual([1, 1, 2, 1, 0, 2]);
  });

  it('hands each window member to one claimant, the same members again to a repeated claim', async () => {
    const store = new MemoryTallyStore(() => 0);
    await store.apply([zadd('a', 1_000), zadd('b', 1_010)]);
    const claim = (claimant: string) => ({ key: 'k', min: 900, claimant, limit: 10, ttlMs: 1_000 });
    expect(await store.claim([claim('e1')])).toEqual([['a', 'b']]);
    await store.apply([zadd('c', 1_020)]);
    expect(await store.claim([claim('e2'), claim('e1')])).toEqual([['c'], ['a', 'b']]);
    expect(await store.claim([claim('e3')])).toEqual([[]]);
  });

  it('forgets tallies after their TTL (store clock), so memory stays bounded', async () => {
    let now = 0;
    const store = new MemoryTallyStore(() => now);
    await store.apply([
      zadd('a', 1_000, { key: 'k1' }),
      zadd('a', 1_000, { key: 'k2', ttlMs: 50_000 }),
    ]);
    now = 20_000;
    expect(store.size).toBe(1);
  });
});
