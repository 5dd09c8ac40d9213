import fc from 'fast-check';
import type { RawBatch, Subscription } from '../transport';
import { MemoryBus, partitionFor } from './memory-bus';

/** Polls until `predicate` holds; the bus delivers on its own async loop. */
async function waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const text = (value: Buffer | null) => (value === null ? null : value.toString('utf8'));

async function send(bus: MemoryBus, topic: string, messages: [string | null, string | null][]) {
  await bus.producer().send(
    messages.map(([key, value]) => ({
      topic,
      key,
      value: value === null ? null : Buffer.from(value),
    })),
  );
}

describe('partitionFor', () => {
  it('sends one key to one partition whatever the round-robin counter', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        fc.nat(),
        (key, n, a, b) => {
          const p = partitionFor(key, n, a);
          expect(p).toBe(partitionFor(key, n, b));
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(n);
        },
      ),
    );
  });

  it('spreads keyless messages round-robin', () => {
    expect([0, 1, 2, 3].map((i) => partitionFor(null, 3, i))).toEqual([0, 1, 2, 0]);
  });

  it('spreads distinct keys over every partition', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionFor(`10.0.0.${i}`, 6, 0)));
    expect(used.size).toBe(6);
  });
});

describe('MemoryBus', () => {
  const subscriptions: Subscription[] = [];
  afterEach(async () => {
    for (const s of subscriptions.splice(0)) await s.stop();
  });

  async function subscribe(bus: MemoryBus, options: Parameters<MemoryBus['subscribe']>[0]) {
    const sub = await bus.subscribe(options);
    subscriptions.push(sub);
    return sub;
  }

  it('keeps per-key order across partitions and batches, and delivers every message once', async () => {
    const bus = new MemoryBus({ partitions: 4, maxBatch: 7 });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const produced: [string, string][] = [];
    for (let i = 0; i < 300; i++) produced.push([keys[i % keys.length], String(i)]);
    // Several sends so the consumer also sees appends between its batches.
    for (let i = 0; i < produced.length; i += 50) await send(bus, 't', produced.slice(i, i + 50));

    const seen = new Map<string, number[]>();
    const partitionsOfKey = new Map<string, Set<number>>();
    let total = 0;
    await subscribe(bus, {
      groupId: 'g',
      topics: ['t'],
      mode: 'group',
      onBatch: async (batch) => {
        for (const m of batch.messages) {
          const key = text(m.key)!;
          seen.set(key, [...(seen.get(key) ?? []), Number(text(m.value))]);
          partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(m.partition));
          total++;
        }
      },
    });
    await waitFor(() => total >= 300);
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(total).toBe(300);
    for (const key of keys) {
      const expected = produced.filter(([k]) => k === key).map(([, v]) => Number(v));
      expect(seen.get(key)).toEqual(expected);
      expect(partitionsOfKey.get(key)!.size).toBe(1);
    }
  });

  it('delivers offsets in order per partition, batches capped at maxBatch, with lag', async () => {
    const bus = new MemoryBus({ partitions: 1, maxBatch: 4 });
    await send(
      bus,
      't',
      Array.from({ length: 10 }, (_, i) => [null, `v${i}`] as [null, string]),
    );
    const batches: RawBatch[] = [];
    await subscribe(bus, {
      groupId: 'g',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void batches.push(b),
    });
    await waitFor(() => batches.length === 3);
    expect(batches.map((b) => b.messages.map((m) => m.offset))).toEqual([
      ['0', '1', '2', '3'],
      ['4', '5', '6', '7'],
      ['8', '9'],
    ]);
    expect(batches.map((b) => b.lag)).toEqual([6, 2, 0]);
    expect(batches[0].messages[0]).toMatchObject({ topic: 't', partition: 0, key: null });
    expect(Number(batches[0].messages[0].timestamp)).toBeGreaterThan(0);
  });

  it('redelivers the same batch after the handler throws, skipping nothing', async () => {
    const bus = new MemoryBus({ partitions: 1, maxBatch: 3 });
    await send(
      bus,
      't',
      Array.from({ length: 7 }, (_, i) => ['k', `v${i}`] as [string, string]),
    );
    const deliveries: string[][] = [];
    const retries: number[] = [];
    let failuresLeft = 2;
    await subscribe(bus, {
      groupId: 'g',
      topics: ['t'],
      mode: 'group',
      onBatch: async (batch) => {
        deliveries.push(batch.messages.map((m) => text(m.value)!));
        if (batch.messages[0].offset === '3' && failuresLeft-- > 0) throw new Error('store down');
      },
      onRetry: (_err, attempt) => retries.push(attempt),
    });
    await waitFor(() => deliveries.flat().includes('v6'));
    expect(deliveries).toEqual([
      ['v0', 'v1', 'v2'],
      ['v3', 'v4', 'v5'],
      ['v3', 'v4', 'v5'],
      ['v3', 'v4', 'v5'],
      ['v6'],
    ]);
    expect(retries).toEqual([0, 1]);
  });

  it('gives every broadcast subscriber every message from the beginning, and commits nothing', async () => {
    const bus = new MemoryBus({ partitions: 3 });
    await bus.ensureTopics([{ name: 'd', compacted: true }]);
    await send(bus, 'd', [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
    const got: string[][] = [[], [], []];
    for (let i = 0; i < 2; i++) {
      await subscribe(bus, {
        groupId: 'node-agent',
        topics: ['d'],
        mode: 'broadcast',
        onBatch: async (b) => void got[i].push(...b.messages.map((m) => text(m.value)!)),
      });
    }
    await send(bus, 'd', [['d', '4']]);
    await waitFor(() => got[0].length === 4 && got[1].length === 4);
    // A later instance of the same service still starts from the beginning.
    await subscribe(bus, {
      groupId: 'node-agent',
      topics: ['d'],
      mode: 'broadcast',
      onBatch: async (b) => void got[2].push(...b.messages.map((m) => text(m.value)!)),
    });
    await waitFor(() => got[2].length === 4);
    for (const list of got) expect([...list].sort()).toEqual(['1', '2', '3', '4']);
  });

  it('refuses a second member in one consumer group', async () => {
    const bus = new MemoryBus();
    await subscribe(bus, { groupId: 'g', topics: ['t'], mode: 'group', onBatch: async () => {} });
    await expect(
      bus.subscribe({ groupId: 'g', topics: ['t'], mode: 'group', onBatch: async () => {} }),
    ).rejects.toThrow(/one member per consumer group; "g"/);
  });

  it('compacts a compacted topic to the latest message per key, offsets unchanged', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await bus.ensureTopics([{ name: 'd', compacted: true }]);
    // Like Kafka's log cleaner, compaction is lazy: it runs once a partition holds > 1024.
    const messages: [string | null, string | null][] = [];
    for (let i = 0; i < 1023; i++) messages.push([`ip${i % 5}`, `v${i}`]);
    messages.push(['ip2', null]); // a tombstone is the latest value of ip2
    messages.push([null, 'keyless']);
    await send(bus, 'd', messages);

    const stored = bus.read('d');
    const latest = new Map<string | null, { offset: number; value: string | null }>();
    messages.forEach(([key, value], offset) => latest.set(key, { offset, value }));
    expect(stored).toHaveLength(6);
    for (const key of ['ip0', 'ip1', 'ip2', 'ip3', 'ip4']) {
      const forKey = stored.filter((m) => m.key === key);
      expect(forKey).toHaveLength(1);
      expect(forKey[0].offset).toBe(latest.get(key)!.offset);
      expect(text(forKey[0].value)).toBe(latest.get(key)!.value);
    }
    expect(stored.filter((m) => m.key === null).map((m) => text(m.value))).toEqual(['keyless']);
    const offsets = stored.map((m) => m.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));

    // A reader after compaction sees the latest value of each key.
    const seen = new Map<string | null, string | null>();
    await subscribe(bus, {
      groupId: 'reader',
      topics: ['d'],
      mode: 'broadcast',
      onBatch: async (b) => b.messages.forEach((m) => seen.set(text(m.key), text(m.value))),
    });
    await waitFor(() => seen.size === 6);
    expect(seen.get('ip0')).toBe('v1020');
    expect(seen.get('ip2')).toBeNull();
  });

  it('does not compact a regular topic', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await send(
      bus,
      't',
      Array.from({ length: 1500 }, () => ['same', 'x'] as [string, string]),
    );
    expect(bus.read('t')).toHaveLength(1500);
  });

  it('lets the batch in flight finish and commit on stop()', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await send(bus, 't', [
      ['k', 'a'],
      ['k', 'b'],
    ]);
    const gate = deferred();
    const started = deferred();
    let finished = false;
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      mode: 'group',
      onBatch: async () => {
        started.resolve();
        await gate.promise;
        finished = true;
      },
    });
    await started.promise;
    let stopped = false;
    const stopping = sub.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);

    // The finished batch was committed: the group's next member starts after it.
    await send(bus, 't', [['k', 'c']]);
    const next: string[] = [];
    await subscribe(bus, {
      groupId: 'g',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void next.push(...b.messages.map((m) => text(m.value)!)),
    });
    await waitFor(() => next.length > 0);
    expect(next).toEqual(['c']);
  });

  it('resumes a restarted group from its committed offset even when another group read further', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await send(bus, 't', [['k', 'a']]);
    const first: string[] = [];
    const sub = await bus.subscribe({
      groupId: 'slow',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void first.push(...b.messages.map((m) => text(m.value)!)),
    });
    await waitFor(() => first.length === 1);
    await sub.stop();

    let fastCount = 0;
    await subscribe(bus, {
      groupId: 'fast',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void (fastCount += b.messages.length),
    });
    await send(bus, 't', [
      ['k', 'b'],
      ['k', 'c'],
    ]);
    await waitFor(() => fastCount === 2); // "a" was trimmed before "fast" joined

    const resumed: string[] = [];
    await subscribe(bus, {
      groupId: 'slow',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void resumed.push(...b.messages.map((m) => text(m.value)!)),
    });
    await waitFor(() => resumed.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(resumed).toEqual(['b', 'c']);
  });

  it('does not drop messages a subscribed group has not read yet when another group reads them', async () => {
    const bus = new MemoryBus({ partitions: 2 });
    const keysByPartition = [0, 1].map((p) => {
      for (let i = 0; ; i++) if (partitionFor(`key${i}`, 2, 0) === p) return `key${i}`;
    });
    await send(bus, 't', [
      [keysByPartition[0], 'p0-a'],
      [keysByPartition[1], 'p1-a'],
    ]);
    const gate = deferred();
    const slowSeen: string[] = [];
    await subscribe(bus, {
      groupId: 'slow',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => {
        await gate.promise; // stuck on its first batch (partition 0)
        slowSeen.push(...b.messages.map((m) => text(m.value)!));
      },
    });
    let fastCount = 0;
    await subscribe(bus, {
      groupId: 'fast',
      topics: ['t'],
      mode: 'group',
      onBatch: async (b) => void (fastCount += b.messages.length),
    });
    await waitFor(() => fastCount === 2);
    gate.resolve();
    await waitFor(() => slowSeen.length >= 2);
    expect(slowSeen.sort()).toEqual(['p0-a', 'p1-a']);
  });

  it('drops messages every group has read (regular topics), keeping compacted ones', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await bus.ensureTopics([{ name: 'd', compacted: true }]);
    await send(bus, 't', [
      ['k', 'a'],
      ['k', 'b'],
    ]);
    await send(bus, 'd', [['k', 'a']]);
    let n = 0;
    await subscribe(bus, {
      groupId: 'g',
      topics: ['t', 'd'],
      mode: 'group',
      onBatch: async (b) => void (n += b.messages.length),
    });
    await waitFor(() => n === 3);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(bus.read('t')).toHaveLength(0);
    expect(bus.read('d')).toHaveLength(1);
  });

  it('refuses to produce or subscribe once closed', async () => {
    const bus = new MemoryBus();
    await bus.close();
    await expect(send(bus, 't', [['k', 'v']])).rejects.toThrow(/closed/);
    await expect(
      bus.subscribe({ groupId: 'g', topics: ['t'], mode: 'group', onBatch: async () => {} }),
    ).rejects.toThrow(/closed/);
  });
});
