import {
  codecs,
  topicNames,
  type DeadLetter,
  type RequestRecord,
  type Vote,
} from '@moat/contracts';
import { PipelineMetrics } from '@moat/observability';
import { createBatchPipeline, type BatchHandler, type InRecord } from './batch-pipeline';
import { MemoryBus } from './memory/memory-bus';
import type { OutboundMessage, Producer, RawBatch, RawMessage } from './transport';

const topics = topicNames('test');
const NOW = 1_764_000_123_456;

function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    v: 1,
    id: 'req-1',
    ts: 1_764_000_000_000,
    app: 'shop.example',
    ip: '203.0.113.7',
    method: 'GET',
    path: '/api/products/42',
    query: {},
    status: 200,
    requestBytes: 0,
    responseBytes: 100,
    latencyMs: 3,
    userAgent: 'Mozilla/5.0',
    headerNames: ['host'],
    credentials: [],
    ...overrides,
  };
}

function vote(id: string, ip = '203.0.113.7'): Vote {
  return {
    v: 1,
    id,
    detector: 'request-rate',
    ts: 1_764_000_000_000,
    app: 'shop.example',
    ip,
    verdict: 'bot',
    score: 1,
    evidence: [],
    eventId: id,
  };
}

function raw(
  offset: number,
  value: Buffer | null,
  key: string | null = '203.0.113.7',
  partition = 2,
): RawMessage {
  return {
    topic: topics.requests,
    partition,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value,
    timestamp: '1764000000999',
  };
}

const encoded = (r: RequestRecord) => codecs.requests.encode(r);

function batchOf(messages: RawMessage[], lag?: number): RawBatch {
  return { topic: topics.requests, partition: 2, messages, ...(lag !== undefined ? { lag } : {}) };
}

function recordingProducer(log: string[] = [], fail?: () => Error | undefined) {
  const sent: OutboundMessage[] = [];
  const producer: Producer = {
    send: async (messages) => {
      const error = fail?.();
      if (error) throw error;
      log.push('send');
      sent.push(...messages);
    },
  };
  return { producer, sent };
}

async function metricValue(
  metrics: PipelineMetrics,
  name: 'consumed' | 'produced' | 'deadLettered' | 'batchFailures' | 'consumerLag',
  labels: Record<string, string>,
): Promise<number | undefined> {
  const data = await metrics[name].get();
  const found = data.values.find((v) =>
    Object.entries(labels).every(
      ([k, l]) => (v.labels as Record<string, string | number | undefined>)[k] === l,
    ),
  );
  return found?.value;
}

function pipeline(
  handler: BatchHandler<RequestRecord>,
  producer: Producer,
  metrics = new PipelineMetrics({ defaultMetrics: false }),
) {
  return {
    metrics,
    run: createBatchPipeline({
      service: 'unit',
      input: 'requests',
      topics,
      producer,
      metrics,
      handler,
      now: () => NOW,
    }),
  };
}

function deadLetters(sent: OutboundMessage[]): DeadLetter[] {
  return sent
    .filter((m) => m.topic === topics.dlq)
    .map((m) => {
      const decoded = codecs.dlq.decode(m.value);
      if (!decoded.ok || decoded.value === null)
        throw new Error('a dead letter must itself be valid');
      return decoded.value;
    });
}

describe('createBatchPipeline', () => {
  it('dead-letters invalid JSON and schema violations with reason, original bytes and position, and still processes valid records', async () => {
    const { producer, sent } = recordingProducer();
    const handled: InRecord<RequestRecord>[] = [];
    const { run } = pipeline(async (records) => void handled.push(...records), producer);
    const notJson = Buffer.from('{"v":1,');
    const badStatus = Buffer.from(JSON.stringify({ ...request(), status: 'ok' }));
    await run(
      batchOf([
        raw(10, encoded(request({ id: 'a' }))),
        raw(11, notJson, 'k-json'),
        raw(12, badStatus, null),
        raw(13, encoded(request({ id: 'b' }))),
        raw(14, null),
      ]),
    );

    expect(handled.map((r) => [r.offset, r.value?.id])).toEqual([
      ['10', 'a'],
      ['13', 'b'],
    ]);
    expect(handled[0]).toMatchObject({
      topic: topics.requests,
      partition: 2,
      key: '203.0.113.7',
      timestamp: 1764000000999,
    });

    const letters = deadLetters(sent);
    expect(letters).toHaveLength(3);
    expect(letters[0]).toMatchObject({
      v: 1,
      service: 'unit',
      topic: topics.requests,
      partition: 2,
      offset: '11',
      key: Buffer.from('k-json').toString('base64'),
      value: notJson.toString('base64'),
      failedAt: NOW,
    });
    expect(letters[0].reason).toMatch(/^invalid JSON/);
    expect(Buffer.from(letters[1].value!, 'base64').equals(badStatus)).toBe(true);
    expect(letters[1].reason).toMatch(/\/status must be integer/);
    expect(letters[1].key).toBeNull();
    expect(letters[2]).toMatchObject({ offset: '14', value: null });
    expect(letters[2].reason).toMatch(/empty value/);
    // The DLQ message is keyed by the original key.
    expect(sent.filter((m) => m.topic === topics.dlq).map((m) => m.key)).toEqual([
      'k-json',
      null,
      '203.0.113.7',
    ]);
  });

  it('truncates an overlong reason so the dead letter itself stays valid', async () => {
    const { producer, sent } = recordingProducer();
    const { run } = pipeline(
      async (records, ctx) => ctx.deadLetter(records[0], 'x'.repeat(10_000)),
      producer,
    );
    await run(batchOf([raw(0, encoded(request()))]));
    expect(deadLetters(sent)[0].reason).toHaveLength(4096);
  });

  it('lets the handler dead-letter a record it cannot process', async () => {
    const { producer, sent } = recordingProducer();
    const { run } = pipeline(async (records, ctx) => {
      ctx.deadLetter(records[1], 'unknown application');
      ctx.out.emit('votes', records[0].key, vote('v-a'));
    }, producer);
    await run(
      batchOf([raw(0, encoded(request({ id: 'a' }))), raw(1, encoded(request({ id: 'b' })))]),
    );
    expect(deadLetters(sent)).toEqual([
      expect.objectContaining({ offset: '1', reason: 'unknown application' }),
    ]);
    expect(sent.filter((m) => m.topic === topics.votes)).toHaveLength(1);
  });

  it('produces outputs before persisting state, and resolves (lets the transport commit) only after persist', async () => {
    const log: string[] = [];
    const { producer, sent } = recordingProducer(log);
    let releasePersist!: () => void;
    const { run } = pipeline(async (records, ctx) => {
      for (const r of records) ctx.out.emit('votes', r.key, vote(`v-${r.value!.id}`));
      log.push('handled');
      return {
        persist: () =>
          new Promise<void>((resolve) => {
            log.push('persist');
            releasePersist = resolve;
          }),
      };
    }, producer);

    let settled = false;
    const done = run(
      batchOf([raw(0, encoded(request({ id: 'a' }))), raw(1, Buffer.from('nope'))]),
    ).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log).toEqual(['handled', 'send', 'persist']);
    expect(settled).toBe(false);
    releasePersist();
    await done;
    expect(settled).toBe(true);
    // Outputs and dead letters go out in one acknowledged send.
    expect(sent.map((m) => m.topic)).toEqual([topics.votes, topics.dlq]);
  });

  it('rejects when the producer fails, without persisting, so the transport retries the batch', async () => {
    const { producer } = recordingProducer([], () => new Error('broker unavailable'));
    const persist = jest.fn(async () => {});
    const { run, metrics } = pipeline(async (records, ctx) => {
      ctx.out.emit('votes', records[0].key, vote('v'));
      return { persist };
    }, producer);
    await expect(run(batchOf([raw(0, encoded(request()))]))).rejects.toThrow('broker unavailable');
    expect(persist).not.toHaveBeenCalled();
    const labels = { service: 'unit', topic: topics.requests };
    expect(await metricValue(metrics, 'batchFailures', labels)).toBe(1);
    expect((await metricValue(metrics, 'consumed', labels)) ?? 0).toBe(0);
  });

  it('rejects when persisting fails (outputs already sent; the replay re-emits them)', async () => {
    const { producer, sent } = recordingProducer();
    const { run } = pipeline(async (records, ctx) => {
      ctx.out.emit('votes', records[0].key, vote('v'));
      return { persist: async () => Promise.reject(new Error('redis down')) };
    }, producer);
    await expect(run(batchOf([raw(0, encoded(request()))]))).rejects.toThrow('redis down');
    expect(sent).toHaveLength(1);
  });

  it('rejects when the handler throws, producing nothing', async () => {
    const { producer, sent } = recordingProducer();
    const { run } = pipeline(async (_records, ctx) => {
      ctx.out.emit('votes', '1.2.3.4', vote('v'));
      throw new Error('state store unreachable');
    }, producer);
    await expect(
      run(batchOf([raw(0, encoded(request())), raw(1, Buffer.from('x'))])),
    ).rejects.toThrow('state store unreachable');
    expect(sent).toHaveLength(0);
  });

  it('does not call the handler when nothing is valid, but still sends the dead letters', async () => {
    const { producer, sent } = recordingProducer();
    const handler = jest.fn(async () => {});
    const { run } = pipeline(handler, producer);
    await run(batchOf([raw(0, Buffer.from('[]')), raw(1, Buffer.from('{}'))]));
    expect(handler).not.toHaveBeenCalled();
    expect(deadLetters(sent).map((d) => d.offset)).toEqual(['0', '1']);
  });

  it('counts consumed, produced per topic, dead-lettered, batch size and lag', async () => {
    const { producer } = recordingProducer();
    const { run, metrics } = pipeline(async (records, ctx) => {
      for (const r of records) ctx.out.emit('votes', r.key, vote(`v-${r.offset}`));
      ctx.out.emit('decisions', '203.0.113.7', null);
    }, producer);
    await run(
      batchOf(
        [raw(0, encoded(request())), raw(1, Buffer.from('x')), raw(2, encoded(request()))],
        42,
      ),
    );
    await run(batchOf([raw(3, encoded(request()))], 7));
    const labels = { service: 'unit', topic: topics.requests };
    expect(await metricValue(metrics, 'consumed', labels)).toBe(4);
    expect(await metricValue(metrics, 'deadLettered', labels)).toBe(1);
    expect(await metricValue(metrics, 'produced', { service: 'unit', topic: topics.votes })).toBe(
      3,
    );
    expect(
      await metricValue(metrics, 'produced', { service: 'unit', topic: topics.decisions }),
    ).toBe(2);
    expect(
      await metricValue(metrics, 'produced', { service: 'unit', topic: topics.dlq }),
    ).toBeUndefined();
    expect(await metricValue(metrics, 'consumerLag', { ...labels, partition: '2' })).toBe(7);
    const size = await metrics.batchSize.get();
    expect(size.values.find((v) => v.metricName === 'moat_batch_size_messages_sum')?.value).toBe(4);
    expect(size.values.find((v) => v.metricName === 'moat_batch_size_messages_count')?.value).toBe(
      2,
    );
  });

  it('passes tombstones of a compacted input to the handler as null values', async () => {
    const { producer } = recordingProducer();
    const seen: unknown[] = [];
    const metrics = new PipelineMetrics({ defaultMetrics: false });
    const run = createBatchPipeline({
      service: 'unit',
      input: 'decisions',
      topics,
      producer,
      metrics,
      handler: async (records) => void seen.push(...records.map((r) => r.value)),
    });
    await run({
      topic: topics.decisions,
      partition: 0,
      messages: [{ ...raw(0, null, '198.51.100.0/24', 0), topic: topics.decisions }],
    });
    expect(seen).toEqual([null]);
  });

  it('on the memory bus: a failed persist gets the batch redelivered and its outputs re-emitted with the same ids', async () => {
    const bus = new MemoryBus({ partitions: 1 });
    await bus.producer().send([
      { topic: topics.requests, key: 'k', value: encoded(request({ id: 'a' })) },
      { topic: topics.requests, key: 'k', value: Buffer.from('garbage') },
      { topic: topics.requests, key: 'k', value: encoded(request({ id: 'b' })) },
    ]);
    let persistFailures = 1;
    const persisted: string[][] = [];
    const run = createBatchPipeline({
      service: 'unit',
      input: 'requests',
      topics,
      producer: bus.producer(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      handler: async (records, ctx) => {
        for (const r of records) ctx.out.emit('votes', r.key, vote(`v-${r.value!.id}`));
        return {
          persist: async () => {
            if (persistFailures-- > 0) throw new Error('redis down');
            persisted.push(records.map((r) => r.value!.id));
          },
        };
      },
    });
    const sub = await bus.subscribe({
      groupId: 'unit',
      topics: [topics.requests],
      mode: 'group',
      onBatch: run,
    });
    const deadline = Date.now() + 2000;
    while (persisted.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
    await sub.stop();

    expect(persisted).toEqual([['a', 'b']]);
    const votes = bus.read(topics.votes).map((m) => (JSON.parse(m.value!.toString()) as Vote).id);
    expect(votes).toEqual(['v-a', 'v-b', 'v-a', 'v-b']);
    // The invalid message is dead-lettered on each attempt; nothing is skipped.
    expect(bus.read(topics.dlq)).toHaveLength(2);
  });
});
