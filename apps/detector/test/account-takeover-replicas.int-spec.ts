/**
 * Horizontal scaling of the account-takeover detectors on the real Kafka and Redis: the same
 * simulated events (people, credential stuffing and low-frequency stuffing, plain and spoofed)
 * are published to two pipelines; one is consumed by one replica, the other by two replicas
 * sharing the consumer group (each with its own Redis connections, as two pods would). The two
 * must publish the same set of (vote id, verdict). Credential stuffing keeps its state per IP
 * (keyed state with watermarks); low-frequency stuffing keeps cross-session tallies per
 * fingerprint, updated by both replicas at once — the case the tally store exists for.
 */
import { randomUUID } from 'node:crypto';
import { codecs, type SessionEvent, type Vote } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { crossSessionHandler, detectorHandler, hostedDetectors } from '@moat/detector-service';
import { collectSessionEvents, DEFAULT_START, simulate, type LabelledEvent } from '@moat/simulator';
import {
  createDistributedRuntime,
  probeInfrastructure,
  tallyStoreFor,
  type BatchHandler,
  type RawMessage,
  type StreamRuntime,
  type Subscription,
  type TallyStore,
} from '@moat/stream-kit';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const DETECTORS = ['credential-stuffing', 'low-frequency-credential-stuffing'] as const;

jest.setTimeout(300_000);

function runtimeFor(prefix: string, service: string): StreamRuntime {
  return createDistributedRuntime({
    service,
    brokers: BROKERS,
    topicPrefix: prefix,
    partitions: 6,
    replicationFactor: 1,
    redisUrl: REDIS_URL,
    redisPrefix: `${prefix}:`,
    logger: createLogger(service, 'warn'),
  });
}

/** One replica: its own runtime (Kafka and Redis connections) hosting the detectors. */
class Replica {
  readonly runtime: StreamRuntime;
  readonly processed = new Map<string, Set<string>>();
  private readonly subscriptions: Subscription[] = [];
  private tallies?: TallyStore;

  constructor(readonly prefix: string) {
    this.runtime = runtimeFor(prefix, 'detector');
  }

  async start(): Promise<void> {
    await this.runtime.start();
    this.tallies = tallyStoreFor(this.runtime.store);
    await this.tallies.connect();
    for (const { detector, config } of hostedDetectors([...DETECTORS])) {
      // The handler the detector service builds for this module (see DetectorHostService).
      const inner: BatchHandler<SessionEvent> = detector.tallies
        ? crossSessionHandler(detector, config, this.runtime.store, this.tallies)
        : detectorHandler(detector, config, this.runtime.store);
      const seen = new Set<string>();
      this.processed.set(detector.id, seen);
      this.subscriptions.push(
        await this.runtime.consume({
          service: `detector-${detector.id}`,
          groupId: `detector-${detector.id}`,
          input: 'events',
          handler: async (records, ctx) => {
            const outcome = await inner(records, ctx);
            return {
              persist: async () => {
                await outcome?.persist?.();
                for (const r of records) seen.add(`${r.partition}:${r.offset}`);
              },
            };
          },
        }),
      );
    }
  }

  async stop(): Promise<void> {
    for (const s of this.subscriptions) await s.stop();
    await this.tallies?.close();
    await this.runtime.close();
  }
}

async function readVotes(runtime: StreamRuntime, quietMs = 3_000): Promise<Vote[]> {
  const seen: RawMessage[] = [];
  let last = Date.now();
  const subscription = await runtime.bus.subscribe({
    groupId: `reader-${randomUUID()}`,
    topics: [runtime.topics.votes],
    mode: 'broadcast',
    onBatch: async (batch) => {
      seen.push(...batch.messages);
      last = Date.now();
    },
  });
  while (Date.now() - last < quietMs) await new Promise((r) => setTimeout(r, 200));
  await subscription.stop();
  return seen.map((m) => {
    const decoded = codecs.votes.decode(m.value);
    if (!decoded.ok || !decoded.value) throw new Error('invalid vote on the votes topic');
    return decoded.value;
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Publishes the events, runs the replicas until every detector processed all of them. */
async function run(prefix: string, replicas: number, events: LabelledEvent[]): Promise<Vote[]> {
  const members = Array.from({ length: replicas }, () => new Replica(prefix));
  for (const m of members) await m.start();
  // Let the group settle with every member before the traffic arrives.
  await new Promise((r) => setTimeout(r, 4_000));
  const publisher = members[0].runtime;
  for (let i = 0; i < events.length; i += 1_000) {
    await publisher.publish(
      'events',
      events.slice(i, i + 1_000).map(({ event }) => ({ key: event.request.ip, value: event })),
      'test',
    );
  }
  const done = (id: string) =>
    new Set(members.flatMap((m) => [...(m.processed.get(id) ?? [])])).size >= events.length;
  await until('every event processed', () => DETECTORS.every(done));
  if (replicas > 1) {
    // Both replicas took part, or the comparison would prove nothing.
    for (const m of members)
      expect(DETECTORS.every((id) => (m.processed.get(id)?.size ?? 0) > 0)).toBe(true);
  }
  const votes = await readVotes(publisher);
  for (const m of members) await m.stop();
  return votes;
}

describe('account-takeover detectors: two replicas vote as one (real Kafka and Redis)', () => {
  beforeAll(async () => {
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}); run them through \`npm test\`.`,
      );
    });
  });

  it('gives the same set of (vote id, verdict) with one replica and with two', async () => {
    const events = await collectSessionEvents(
      simulate({
        seed: 21,
        start: DEFAULT_START,
        durationMs: 6 * HOUR,
        humans: 60,
        bots: [
          { scenario: 'credential-stuffing', count: 1 },
          { scenario: 'credential-stuffing', count: 1, spoofUserAgent: true },
          { scenario: 'low-frequency-stuffing', count: 1 },
        ],
      }),
      { secret: 'replicas' },
    );
    const run1 = randomUUID().slice(0, 8);
    const one = await run(`ato1-${run1}`, 1, events);
    const two = await run(`ato2-${run1}`, 2, events);
    const set = (votes: Vote[]) => [...new Set(votes.map((v) => `${v.id} ${v.verdict}`))].sort();
    const bots = (votes: Vote[]) => votes.filter((v) => v.verdict === 'bot');
    process.stdout.write(
      `one replica: ${set(one).length} distinct votes (${bots(one).length} bot messages, ${one.length} messages); ` +
        `two replicas: ${set(two).length} distinct votes (${two.length} messages)\n`,
    );
    for (const id of DETECTORS) expect(bots(one).some((v) => v.detector === id)).toBe(true);
    expect(set(two)).toEqual(set(one));
  });
});
