import { MemoryStructureStore } from './structure-store';

describe('MemoryStructureStore', () => {
  it('keeps sorted sets ordered by score, moves members, removes by member and below a score', async () => {
    const store = new MemoryStructureStore(() => 0);
    await store.write([
      {
        op: 'zadd',
        key: 'z',
        members: [
          { member: 'c', score: 3 },
          { member: 'a', score: 1 },
          { member: 'b', score: 2 },
        ],
      },
      { op: 'zadd', key: 'z', members: [{ member: 'a', score: 5 }] },
    ]);
    expect(await store.zrangeByScore('z', 0, 3, 10)).toEqual([
      { member: 'b', score: 2 },
      { member: 'c', score: 3 },
    ]);
    expect(await store.zrangeByScore('z', -Infinity, Infinity, 1)).toEqual([
      { member: 'b', score: 2 },
    ]);
    expect((await store.zrevRange('z', 0, 2)).map((m) => m.member)).toEqual(['a', 'c']);
    await store.write([
      { op: 'zrem', key: 'z', members: ['c'] },
      { op: 'zremBelow', key: 'z', score: 3 },
    ]);
    expect(await store.zrevRange('z', 0, 10)).toEqual([{ member: 'a', score: 5 }]);
    expect(await store.zcard('z')).toBe(1);
  });

  it('caps a sorted set to its highest-scored members', async () => {
    const store = new MemoryStructureStore(() => 0);
    await store.write([
      {
        op: 'zadd',
        key: 'z',
        members: Array.from({ length: 10 }, (_, i) => ({ member: `m${i}`, score: i })),
      },
      { op: 'zcap', key: 'z', max: 3 },
    ]);
    expect((await store.zrevRange('z', 0, 10)).map((m) => m.member)).toEqual(['m9', 'm8', 'm7']);
  });

  it('counts distinct members of one or several HyperLogLogs; adding twice changes nothing', async () => {
    const store = new MemoryStructureStore(() => 0);
    const add = (key: string, members: string[]) =>
      store.write([{ op: 'pfadd', key, members, ttlMs: 1000 }]);
    await add('d1', ['a', 'b']);
    await add('d1', ['a', 'b']);
    await add('d2', ['b', 'c']);
    expect(await store.pfcount(['d1'])).toBe(2);
    expect(await store.pfcount(['d1', 'd2', 'absent'])).toBe(3);
    expect(await store.pfcount([])).toBe(0);
  });

  it('expires every kind of key by its TTL, refreshed on write', async () => {
    let now = 0;
    const store = new MemoryStructureStore(() => now);
    await store.write([
      { op: 'set', key: 's', value: 'v', ttlMs: 100 },
      { op: 'pfadd', key: 'h', members: ['x'], ttlMs: 100 },
      { op: 'zadd', key: 'z', members: [{ member: 'x', score: 1 }], ttlMs: 100 },
    ]);
    now = 99;
    await store.write([{ op: 'pfadd', key: 'h', members: ['y'], ttlMs: 100 }]);
    expect(await store.get(['s', 'missing'])).toEqual(['v', null]);
    now = 100;
    expect(await store.get(['s'])).toEqual([null]);
    expect(await store.zcard('z')).toBe(0);
    expect(await store.pfcount(['h'])).toBe(2);
    now = 199;
    expect(store.size).toBe(0);
  });
});
