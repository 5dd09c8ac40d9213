import { codecs, topicNames, type Vote } from '@moat/contracts';
import type { BatchContext, BatchOutcome, InRecord } from './batch-pipeline';
import { Emitter } from './emitter';
import { keyedHandler, type KeyedProcessor } from './keyed-processor';
import { MemoryStateStore } from './state/memory-store';
import type { StateStore, StateWrite } from './state/state-store';

const topics = topicNames('test');

interface Input {
  ip: string;
  /** Makes process() throw after emitting (a bug in a processor). */
  explode?: boolean;
  /** Makes process() delete the key's state. */
  reset?: boolean;
  noKey?: boolean;
}

interface Count {
  n: number;
}

/** Counts records per IP and emits one vote per record, with a deterministic id. */
class Counter implements KeyedProcessor<Input, Count> {
  readonly name = 'counter';
  readonly stateTtlMs = 60_000;
  calls = 0;

  stateKey(value: Input): string | null {
    if (value.ip === 'bad') throw new Error('no ip');
    return value.noKey ? null : value.ip;
  }

  process(record: InRecord<Input>, state: Count | undefined, out: Emitter): Count | undefined {
    this.calls++;
    const n = (state?.n ?? 0) + 1;
    out.emit(
      'votes',
      record.value!.ip,
      vote(`counter:${record.partition}:${record.offset}`, record.value!.ip, n),
    );
    if (record.value!.explode) throw new Error('boom');
    return record.value!.reset ? undefined : { n };
  }
}

function vote(id: string, ip: string, n: number): Vote {
  return {
    v: 1,
    id,
    detector: 'request-rate',
    ts: 1_764_000_000_000,
    app: 'a',
    ip,
    verdict: 'bot',
    score: 1,
    evidence: [{ metric: 'count', value: n }],
    eventId: id,
  };
}

function rec(offset: number, value: Input | null, partition = 0): InRecord<Input> {
  return {
    topic: 'in',
    partition,
    offset: String(offset),
    key: value?.ip ?? null,
    value,
    timestamp: 0,
  };
}

/** Runs the handler like the pipeline does, returning outputs, dead letters and the persist step. */
async function runBatch(
  processor: Counter,
  store: StateStore,
  records: InRecord<Input>[],
  persist = true,
) {
  const out = new Emitter(topics);
  const dead: { offset: string; reason: string }[] = [];
  const ctx: BatchContext = {
    out,
    deadLetter: (r, reason) => dead.push({ offset: r.offset, reason }),
  };
  const outcome = (await keyedHandler(processor, store)(records, ctx)) as BatchOutcome;
  const outputs = out
    .drain()
    .map((m) => ({ key: m.key, value: JSON.parse(m.value!.toString()) as Vote }));
  if (persist) await outcome.persist?.();
  return { outputs, dead };
}

async function stateOf(store: StateStore, ip: string) {
  const [raw] = await store.getMany([`counter:${ip}`]);
  return raw === null ? null : (JSON.parse(raw) as { s: Count | null; wm: Record<string, string> });
}

/** A store that records its calls. */
class SpyStore extends MemoryStateStore {
  reads: string[][] = [];
  writes: StateWrite[][] = [];
  override async getMany(keys: string[]) {
    this.reads.push(keys);
    return super.getMany(keys);
  }
  override async setMany(writes: StateWrite[]) {
    this.writes.push(writes);
    return super.setMany(writes);
  }
}

const A = '198.51.100.1';
const B = '198.51.100.2';

describe('keyedHandler', () => {
  it('loads each key once per batch, threads state through its records and writes it back once', async () => {
    const store = new SpyStore();
    const counter = new Counter();
    const { outputs } = await runBatch(counter, store, [
      rec(0, { ip: A }),
      rec(1, { ip: B }),
      rec(2, { ip: A }),
      rec(3, { ip: A }),
    ]);
    expect(store.reads).toEqual([[`counter:${A}`, `counter:${B}`]]);
    expect(outputs.map((o) => [o.key, o.value.evidence[0].value])).toEqual([
      [A, 1],
      [B, 1],
      [A, 2],
      [A, 3],
    ]);
    expect(store.writes).toHaveLength(1);
    expect(store.writes[0].map((w) => w.key).sort()).toEqual([`counter:${A}`, `counter:${B}`]);
    expect(store.writes[0].every((w) => w.ttlMs === 60_000)).toBe(true);
    expect(await stateOf(store, A)).toEqual({ s: { n: 3 }, wm: { '0': '3' } });
  });

  it('skips a batch whose state was already persisted: no duplicate outputs, no double counting', async () => {
    const store = new MemoryStateStore();
    const counter = new Counter();
    const batch = [rec(5, { ip: A }), rec(6, { ip: A })];
    await runBatch(counter, store, batch);
    const calls = counter.calls;
    const replay = await runBatch(counter, store, batch);
    expect(replay.outputs).toEqual([]);
    expect(counter.calls).toBe(calls);
    expect((await stateOf(store, A))!.s).toEqual({ n: 2 });
  });

  it('processes only the records past the watermark of an overlapping batch', async () => {
    const store = new MemoryStateStore();
    await runBatch(new Counter(), store, [rec(5, { ip: A }), rec(6, { ip: A })]);
    const { outputs } = await runBatch(new Counter(), store, [
      rec(6, { ip: A }),
      rec(7, { ip: A }),
    ]);
    expect(outputs.map((o) => o.value.id)).toEqual(['counter:0:7']);
    expect((await stateOf(store, A))!.s).toEqual({ n: 3 });
  });

  it('compares offsets as numbers, not strings', async () => {
    const store = new MemoryStateStore();
    await runBatch(new Counter(), store, [rec(9, { ip: A })]);
    const { outputs } = await runBatch(new Counter(), store, [rec(10, { ip: A })]);
    expect(outputs).toHaveLength(1);
    expect((await stateOf(store, A))!.wm).toEqual({ '0': '10' });
  });

  it('compares offsets beyond 2^53 exactly', async () => {
    const store = new MemoryStateStore();
    await runBatch(new Counter(), store, [{ ...rec(0, { ip: A }), offset: '9007199254740993' }]);
    const { outputs } = await runBatch(new Counter(), store, [
      { ...rec(0, { ip: A }), offset: '9007199254740992' },
    ]);
    expect(outputs).toEqual([]);
  });

  it('keeps one watermark per input partition', async () => {
    const store = new MemoryStateStore();
    await runBatch(new Counter(), store, [rec(100, { ip: A }, 0)]);
    const { outputs } = await runBatch(new Counter(), store, [rec(3, { ip: A }, 1)]);
    expect(outputs).toHaveLength(1);
    expect(await stateOf(store, A)).toEqual({ s: { n: 2 }, wm: { '0': '100', '1': '3' } });
  });

  it('re-emits identical outputs when a batch was produced but its state not persisted', async () => {
    const store = new MemoryStateStore();
    const batch = [rec(0, { ip: A }), rec(1, { ip: B }), rec(2, { ip: A })];
    const first = await runBatch(new Counter(), store, batch, false);
    expect(await stateOf(store, A)).toBeNull();
    const second = await runBatch(new Counter(), store, batch, true);
    expect(second.outputs).toEqual(first.outputs);
    expect((await stateOf(store, A))!.s).toEqual({ n: 2 });
  });

  it('dead-letters only the record whose process() throws and discards its partial outputs', async () => {
    const store = new MemoryStateStore();
    const { outputs, dead } = await runBatch(new Counter(), store, [
      rec(0, { ip: A }),
      rec(1, { ip: A, explode: true }),
      rec(2, { ip: A }),
      rec(3, { ip: B }),
    ]);
    expect(dead).toEqual([{ offset: '1', reason: 'processing failed in counter: boom' }]);
    expect(outputs.map((o) => o.value.id)).toEqual(['counter:0:0', 'counter:0:2', 'counter:0:3']);
    // The failed record did not count: the next record continued from the state before it.
    expect(outputs[1].value.evidence[0].value).toBe(2);
    expect(await stateOf(store, A)).toEqual({ s: { n: 2 }, wm: { '0': '2' } });
  });

  it('dead-letters a record whose state key cannot be derived', async () => {
    const { outputs, dead } = await runBatch(new Counter(), new MemoryStateStore(), [
      rec(0, { ip: 'bad' }),
      rec(1, { ip: A }),
    ]);
    expect(dead).toEqual([{ offset: '0', reason: 'cannot derive state key: no ip' }]);
    expect(outputs).toHaveLength(1);
  });

  it('keeps the watermark when the processor deletes the state', async () => {
    const store = new MemoryStateStore();
    const batch = [rec(0, { ip: A }), rec(1, { ip: A, reset: true })];
    await runBatch(new Counter(), store, batch);
    expect(await stateOf(store, A)).toEqual({ s: null, wm: { '0': '1' } });
    const replay = await runBatch(new Counter(), store, batch);
    expect(replay.outputs).toEqual([]);
    const next = await runBatch(new Counter(), store, [rec(2, { ip: A })]);
    expect(next.outputs[0].value.evidence[0].value).toBe(1);
  });

  it('processes records without a state key statelessly and persists nothing for them', async () => {
    const store = new SpyStore();
    const { outputs } = await runBatch(new Counter(), store, [
      rec(0, { ip: A, noKey: true }),
      rec(1, { ip: A, noKey: true }),
    ]);
    expect(outputs.map((o) => o.value.evidence[0].value)).toEqual([1, 1]);
    expect(store.writes).toEqual([[]]);
  });

  it('ignores tombstones', async () => {
    const counter = new Counter();
    const { outputs } = await runBatch(counter, new MemoryStateStore(), [rec(0, null)]);
    expect(outputs).toEqual([]);
    expect(counter.calls).toBe(0);
  });

  it('treats unreadable state as none instead of blocking the partition', async () => {
    const store = new MemoryStateStore();
    await store.setMany([
      { key: `counter:${A}`, value: '{not json', ttlMs: 60_000 },
      { key: `counter:${B}`, value: '42', ttlMs: 60_000 },
    ]);
    const { outputs } = await runBatch(new Counter(), store, [
      rec(0, { ip: A }),
      rec(1, { ip: B }),
    ]);
    expect(outputs.map((o) => o.value.evidence[0].value)).toEqual([1, 1]);
    expect((await stateOf(store, A))!.s).toEqual({ n: 1 });
  });

  it('emits only outputs that pass their contract', async () => {
    const { outputs } = await runBatch(new Counter(), new MemoryStateStore(), [rec(0, { ip: A })]);
    expect(codecs.votes.check(outputs[0].value).ok).toBe(true);
  });
});
