import { Type } from '@sinclair/typebox';
import { codecs, topicNames, type SessionEvent, type Vote } from '@moat/contracts';
import { defineDetector, getDetector, resolveDetectorConfig } from '@moat/detectors';
import { Emitter, MemoryStateStore, type BatchContext, type InRecord } from '@moat/stream-kit';
import { BaselineBook } from './baseline-book';
import { detectorHandler } from './detector.processor';

const T0 = Date.UTC(2026, 9, 5, 12);
const topics = topicNames('test');

function event(i: number, over: Partial<SessionEvent['request']> = {}): SessionEvent {
  return {
    v: 1,
    request: {
      v: 1,
      id: `req-${i}`,
      ts: T0 + i * 1000,
      app: 'shop.example',
      ip: `198.51.100.${i % 4}`,
      method: 'GET',
      path: `/p/${i}`,
      query: {},
      status: 200,
      requestBytes: 0,
      responseBytes: 1,
      latencyMs: 1,
      userAgent: 'curl/8',
      headerNames: ['host'],
      credentials: [],
      ...over,
    },
    sessionId: `s${i % 4}`,
    sessionKeyKind: 'fingerprint',
    route: '/p/{id}',
    session: {
      startedAt: T0,
      requestCount: 1,
      durationMs: 0,
      uniqueRoutes: 1,
      authAttempts: 0,
      authFailures: 0,
      bytesIn: 0,
      bytesOut: 0,
      errorResponses: 0,
    },
  };
}

/** Learns every event's status; votes bot with the learned count as evidence. */
const learner = defineDetector<{ n: number }, ReturnType<typeof Type.Object>>({
  id: 'request-rate',
  summary: 'test learner',
  configSchema: Type.Object({}),
  baseline: { metrics: { status: {} } },
  stateKey: (e) => e.request.ip,
  stateTtlMs: () => 60_000,
  evaluate: ({ event: e, state, baseline }) => {
    if (e.request.path === '/explode') throw new Error('boom');
    return {
      state: { n: (state?.n ?? 0) + 1 },
      vote: {
        verdict: 'bot',
        score: 1,
        evidence: [{ metric: 'seen', value: baseline?.count('status') ?? -1 }],
      },
      observations: [{ metric: 'status', value: e.request.status }],
    };
  },
});

function records(events: SessionEvent[], partition = 0, from = 0): InRecord<SessionEvent>[] {
  return events.map((value, i) => ({
    topic: 'events',
    partition,
    offset: String(from + i),
    key: value.request.ip,
    value,
    timestamp: 0,
  }));
}

async function run(handler: ReturnType<typeof detectorHandler>, batch: InRecord<SessionEvent>[]) {
  const out = new Emitter(topics);
  const dead: string[] = [];
  const ctx: BatchContext = { out, deadLetter: (_r, reason) => dead.push(reason) };
  const outcome = await handler(batch, ctx);
  await outcome?.persist?.();
  const votes = out.drain().map((m) => JSON.parse(m.value!.toString()) as Vote);
  return { votes, dead };
}

async function learnedCount(store: MemoryStateStore, partitions = 4): Promise<number> {
  const book = new BaselineBook('request-rate', learner.baseline!, store, { shards: partitions });
  const views = await book.load(['shop.example'], 0);
  return views.get('shop.example')!.count('status');
}

describe('detectorHandler with baselines', () => {
  it('hands each batch the baseline learned from the batches before it', async () => {
    const store = new MemoryStateStore();
    const handler = detectorHandler(learner, {}, store, { shards: 4 });
    const first = await run(handler, records([0, 1, 2].map((i) => event(i))));
    expect(first.votes.map((v) => v.evidence[0].value)).toEqual([0, 0, 0]);
    const second = await run(
      handler,
      records(
        [3, 4].map((i) => event(i)),
        0,
        3,
      ),
    );
    expect(second.votes.map((v) => v.evidence[0].value)).toEqual([3, 3]);
    expect(await learnedCount(store)).toBe(5);
  });

  it('learns a redelivered batch once (shard watermarks), even when keyed state was lost', async () => {
    const store = new MemoryStateStore();
    const handler = detectorHandler(learner, {}, store, { shards: 4 });
    const batch = records([0, 1, 2].map((i) => event(i)));
    await run(handler, batch);
    // Drop the keyed state (as if the crash came before it was written): records re-run.
    await store.setMany(
      [0, 1, 2].map((i) => ({ key: `det:request-rate:198.51.100.${i}`, value: null, ttlMs: 1 })),
    );
    const again = await run(detectorHandler(learner, {}, store, { shards: 4 }), batch);
    expect(again.votes).toHaveLength(3);
    expect(await learnedCount(store)).toBe(3);
  });

  it('keeps one shard per input partition and merges them for every reader', async () => {
    const store = new MemoryStateStore();
    const a = detectorHandler(learner, {}, store, { shards: 4 });
    const b = detectorHandler(learner, {}, store, { shards: 4 });
    await run(
      a,
      records(
        [0, 1].map((i) => event(i)),
        0,
      ),
    );
    await run(
      b,
      records(
        [2, 3, 4].map((i) => event(i)),
        3,
      ),
    );
    expect(
      await store.getMany(['bl:request-rate:shop.example:0', 'bl:request-rate:shop.example:3']),
    ).not.toContain(null);
    expect(await learnedCount(store)).toBe(5);
  });

  it('reads shards beyond the configured count when a partition above it shows up', async () => {
    const store = new MemoryStateStore();
    await run(detectorHandler(learner, {}, store, { shards: 2 }), records([event(0)], 7));
    const book = new BaselineBook('request-rate', learner.baseline!, store, { shards: 2 });
    expect((await book.load(['shop.example'], 7)).get('shop.example')!.count('status')).toBe(1);
  });

  it('a record that fails is dead-lettered and teaches nothing', async () => {
    const store = new MemoryStateStore();
    const { dead, votes } = await run(
      detectorHandler(learner, {}, store),
      records([event(0), event(1, { path: '/explode' })]),
    );
    expect(dead).toEqual(['processing failed in det:request-rate: boom']);
    expect(votes).toHaveLength(1);
    expect(await learnedCount(store)).toBe(1);
  });

  it('hosts a real detector: votes pass the contract and carry their evidence', async () => {
    const detector = getDetector('bad-user-agent');
    const { votes } = await run(
      detectorHandler(detector, resolveDetectorConfig(detector), new MemoryStateStore()),
      records([event(0)]),
    );
    expect(votes).toHaveLength(1);
    expect(codecs.votes.check(votes[0]).ok).toBe(true);
    expect(votes[0]).toMatchObject({
      id: 'bad-user-agent:req-0',
      verdict: 'bot',
      evidence: [{ metric: 'user_agent_signature' }],
    });
  });
});
