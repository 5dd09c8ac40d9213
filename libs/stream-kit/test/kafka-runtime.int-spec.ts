/**
 * The stream kit on the real Kafka broker and the real Redis: batch consumption, DLQ routing,
 * commit only after the outputs are acknowledged, redelivery of a failed batch, resumption at
 * the committed offset, two members of one group sharing the partitions, two pipelines with
 * different topic prefixes on one cluster kept apart, and keyed state in Redis that makes a
 * replayed batch harmless.
 */
import { randomUUID } from 'node:crypto';
import { codecs, topicNames, type RequestRecord } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  Emitter,
  KafkaBus,
  keyedHandler,
  probeInfrastructure,
  RedisStateStore,
  type InRecord,
  type KeyedProcessor,
  type RawMessage,
  type StreamRuntime,
} from '../src';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function request(i: number, ip = `198.51.100.${i % 50}`): RequestRecord {
  return {
    v: 1,
    id: `req-${i}`,
    ts: 1_764_000_000_000 + i,
    app: 'shop.example',
    ip,
    method: 'GET',
    path: `/api/items/${i}`,
    query: {},
    status: 200,
    requestBytes: 0,
    responseBytes: 100,
    latencyMs: 1,
    userAgent: 'test',
    headerNames: [],
    credentials: [],
  };
}

function runtimeFor(prefix: string, service: string): StreamRuntime {
  return createDistributedRuntime({
    service,
    brokers: BROKERS,
    topicPrefix: prefix,
    partitions: 3,
    replicationFactor: 1,
    redisUrl: REDIS_URL,
    redisPrefix: `${prefix}:`,
    logger: createLogger(service, 'warn'),
  });
}

/** Reads a topic from the beginning until `count` messages arrived. */
async function readTopic(
  runtime: StreamRuntime,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<RawMessage[]> {
  const seen: RawMessage[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  const subscription = await runtime.bus.subscribe({
    groupId: `reader-${randomUUID()}`,
    topics: [topic],
    mode: 'broadcast',
    onBatch: async (batch) => {
      seen.push(...batch.messages);
      if (seen.length >= count) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await enough;
  clearTimeout(timer);
  await subscription.stop();
  return seen;
}

const until = async (what: string, condition: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('stream kit on real Kafka and Redis', () => {
  beforeAll(async () => {
    const report = await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch(
      (err: Error) => {
        throw new Error(
          `Integration tests need the real Kafka and Redis (${err.message}); run them through \`npm test\`.`,
        );
      },
    );
    process.stdout.write(
      `stream-kit integration: Kafka ${process.env.KAFKA_BROKER_VERSION ?? '(version unknown)'} cluster ${report.kafka.clusterId}; Redis ${report.redis.version}\n`,
    );
  });

  it('dead-letters invalid messages, redelivers a failed batch and commits only after its outputs', async () => {
    const prefix = `kit-${randomUUID().slice(0, 8)}`;
    const runtime = runtimeFor(prefix, 'kit-test');
    await runtime.start();
    try {
      const valid = Array.from({ length: 30 }, (_, i) => request(i));
      await runtime.publish(
        'requests',
        valid.map((r) => ({ key: r.ip, value: r })),
        'kit-test',
      );
      const garbage = [
        Buffer.from('{"v":1,'),
        Buffer.from(JSON.stringify({ ...request(99), status: 'x' })),
      ];
      await runtime.bus
        .producer()
        .send(garbage.map((value) => ({ topic: runtime.topics.requests, key: 'bad', value })));

      let failuresLeft = 2;
      const processed: string[] = [];
      const subscription = await runtime.consume({
        service: 'kit-test',
        groupId: `${prefix}-group`,
        input: 'requests',
        handler: async (records, ctx) => {
          if (failuresLeft-- > 0) throw new Error('simulated state store outage');
          for (const record of records) {
            processed.push(record.value!.id);
            ctx.out.emit('votes', record.value!.ip, {
              v: 1,
              id: `request-rate:${record.value!.id}`,
              detector: 'request-rate',
              ts: record.value!.ts,
              app: record.value!.app,
              ip: record.value!.ip,
              verdict: 'clean',
              score: 0,
              evidence: [],
              eventId: record.value!.id,
            });
          }
        },
      });
      await until('all valid records processed', () => processed.length >= 30);
      await subscription.stop();

      expect([...new Set(processed)].sort()).toEqual(valid.map((r) => r.id).sort());
      const votes = await readTopic(runtime, runtime.topics.votes, 30);
      expect(votes).toHaveLength(30);

      const dead = await readTopic(runtime, runtime.topics.dlq, 2);
      const letters = dead
        .map((m) => codecs.dlq.decode(m.value))
        .map((d) => (d.ok ? d.value! : undefined));
      const reasons = letters.map((l) => l?.reason ?? '');
      expect(reasons.some((r) => /^invalid JSON/.test(r))).toBe(true);
      expect(reasons.some((r) => /\/status must be integer/.test(r))).toBe(true);
      expect(
        letters.every((l) => l?.topic === runtime.topics.requests && l.service === 'kit-test'),
      ).toBe(true);
      const originals = letters.map((l) => Buffer.from(l!.value!, 'base64').toString());
      expect(originals.sort()).toEqual(garbage.map((g) => g.toString()).sort());

      const bus = runtime.bus as KafkaBus;
      expect(await bus.committedOffsets(`${prefix}-group`, runtime.topics.requests)).toEqual(
        await bus.endOffsets(runtime.topics.requests),
      );
    } finally {
      await runtime.close();
    }
  }, 60_000);

  it('resumes at the committed offset and shares partitions between two members', async () => {
    const prefix = `kit-${randomUUID().slice(0, 8)}`;
    const producer = runtimeFor(prefix, 'kit-producer');
    await producer.start();
    const members = [runtimeFor(prefix, 'kit-a'), runtimeFor(prefix, 'kit-b')];
    try {
      await producer.publish(
        'requests',
        Array.from({ length: 60 }, (_, i) => ({ key: request(i).ip, value: request(i) })),
        'p',
      );
      const seen = new Map<string, Set<number>>();
      const ids: string[] = [];
      const consume = async (runtime: StreamRuntime, name: string) => {
        await runtime.start();
        return runtime.consume({
          service: name,
          groupId: `${prefix}-shared`,
          input: 'requests',
          handler: async (records) => {
            for (const r of records) {
              ids.push(r.value!.id);
              if (!seen.has(name)) seen.set(name, new Set());
              seen.get(name)!.add(r.partition);
            }
          },
        });
      };
      const first = await consume(members[0], 'kit-a');
      await until('the first 60 records', () => ids.length >= 60);
      await first.stop();

      // Records published while nobody consumes are read once, by whichever member owns them.
      await producer.publish(
        'requests',
        Array.from({ length: 60 }, (_, i) => ({
          key: request(100 + i).ip,
          value: request(100 + i),
        })),
        'p',
      );
      const a = await consume(members[0], 'kit-a');
      const b = await consume(members[1], 'kit-b');
      await until('the next 60 records', () => ids.length >= 120);
      await producer.publish(
        'requests',
        Array.from({ length: 60 }, (_, i) => ({
          key: request(200 + i).ip,
          value: request(200 + i),
        })),
        'p',
      );
      await until('the last 60 records', () => ids.length >= 180);
      await Promise.all([a.stop(), b.stop()]);

      expect(ids).toHaveLength(180);
      expect(new Set(ids).size).toBe(180);
      expect(seen.get('kit-b')?.size ?? 0).toBeGreaterThan(0);
    } finally {
      await Promise.all([...members, producer].map((r) => r.close()));
    }
  }, 90_000);

  it('keeps two pipelines with different topic prefixes apart although their groups share a name', async () => {
    // Both run a consumer group called "sessionizer". Were the group shared on Kafka, its leader
    // would assign only the topic it subscribed to itself, and the other pipeline would read nothing.
    const pipelines = ['a', 'b'].map((name) => {
      const prefix = `kit-${name}-${randomUUID().slice(0, 8)}`;
      return { prefix, runtime: runtimeFor(prefix, `kit-${name}`), ids: [] as string[] };
    });
    try {
      const subscriptions = [];
      for (const p of pipelines) {
        await p.runtime.start();
        subscriptions.push(
          await p.runtime.consume({
            service: 'sessionizer',
            groupId: 'sessionizer',
            input: 'requests',
            handler: async (records) => {
              for (const r of records) p.ids.push(r.value!.id);
            },
          }),
        );
        await until(
          `${p.prefix} to join its group`,
          () => p.runtime.health.report().checks['consumer:sessionizer']?.state === 'ok',
        );
      }
      for (const [n, p] of pipelines.entries()) {
        const records = Array.from({ length: 60 }, (_, i) => request(n * 1000 + i));
        await p.runtime.publish(
          'requests',
          records.map((r) => ({ key: r.ip, value: r })),
          'p',
        );
      }
      for (const p of pipelines) await until(`${p.prefix}'s 60 records`, () => p.ids.length >= 60);
      await Promise.all(subscriptions.map((s) => s.stop()));

      for (const [n, p] of pipelines.entries()) {
        expect(new Set(p.ids)).toEqual(
          new Set(Array.from({ length: 60 }, (_, i) => request(n * 1000 + i).id)),
        );
        const bus = p.runtime.bus as KafkaBus;
        expect(bus.groupName('sessionizer')).toBe(`${p.prefix}.sessionizer`);
        const committed = await bus.committedOffsets('sessionizer', p.runtime.topics.requests);
        const total = [...committed.values()].reduce((sum, o) => sum + Math.max(0, Number(o)), 0);
        expect(total).toBe(60);
      }
    } finally {
      await Promise.all(pipelines.map((p) => p.runtime.close()));
    }
  }, 60_000);

  it('keeps keyed state in Redis so that a replayed batch changes nothing', async () => {
    const prefix = `kit-${randomUUID().slice(0, 8)}`;
    const store = new RedisStateStore({ url: REDIS_URL, prefix: `${prefix}:` });
    await store.connect();
    const counter: KeyedProcessor<RequestRecord, { n: number }> = {
      name: 'count',
      stateTtlMs: 60_000,
      stateKey: (r) => r.ip,
      process: (record: InRecord<RequestRecord>, state, out) => {
        const n = (state?.n ?? 0) + 1;
        out.emit('votes', record.value!.ip, {
          v: 1,
          id: `request-rate:${record.value!.id}`,
          detector: 'request-rate',
          ts: record.value!.ts,
          app: 'a',
          ip: record.value!.ip,
          verdict: 'clean',
          score: 0,
          evidence: [{ metric: 'count', value: n }],
          eventId: record.value!.id,
        });
        return { n };
      },
    };
    const handler = keyedHandler(counter, store);
    const records: InRecord<RequestRecord>[] = Array.from({ length: 10 }, (_, i) => ({
      topic: 't',
      partition: 0,
      offset: String(i),
      key: '198.51.100.1',
      value: request(i, '198.51.100.1'),
      timestamp: 0,
    }));
    try {
      const first = new Emitter(topicNames(prefix));
      const outcome = await handler(records, { out: first, deadLetter: () => undefined });
      await outcome?.persist?.();
      expect(first.drain()).toHaveLength(10);
      // The crash came after the state write and before the commit: the batch comes again.
      const replay = new Emitter(topicNames(prefix));
      const again = await handler(records, { out: replay, deadLetter: () => undefined });
      await again?.persist?.();
      expect(replay.drain()).toHaveLength(0);
      const [raw] = await store.getMany(['count:198.51.100.1']);
      expect(JSON.parse(raw!)).toEqual({ s: { n: 10 }, wm: { '0': '9' } });
    } finally {
      await store.close();
    }
  }, 30_000);
});
