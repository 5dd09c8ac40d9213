/**
 * Detectors with baselines on the real Kafka and Redis: a hosted detector learns its
 * application's baseline from the event stream into Redis shards (one per partition), votes on
 * moat.votes.v1, and a restarted detector — a new process with the same Redis — starts from
 * what was learned instead of from nothing, and learns each new event once.
 */
import { randomUUID } from 'node:crypto';
import type { SessionEvent, Vote } from '@moat/contracts';
import { getDetector, resolveDetectorConfig } from '@moat/detectors';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  probeInfrastructure,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';
import { BaselineBook, detectorHandler } from '../src';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const T0 = Date.UTC(2026, 9, 5, 12);
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';

function event(i: number, userAgent: string): SessionEvent {
  return {
    v: 1,
    request: {
      v: 1,
      id: `req-${i}`,
      ts: T0 + i,
      app: 'shop.example',
      ip: `198.51.${Math.floor(i / 250)}.${i % 250}`,
      method: 'GET',
      path: '/',
      query: {},
      status: 200,
      requestBytes: 0,
      responseBytes: 1,
      latencyMs: 1,
      userAgent,
      headerNames: ['host', 'user-agent', 'accept', 'accept-encoding', 'accept-language'],
      credentials: [],
    },
    sessionId: `s${i}`,
    sessionKeyKind: 'fingerprint',
    route: '/',
    session: {
      startedAt: T0 + i,
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

const until = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('detector baselines on real Kafka and Redis', () => {
  const prefix = `it-det-${randomUUID().slice(0, 8)}`;
  const detector = getDetector('bad-user-agent');
  const config = resolveDetectorConfig(detector);
  const runtimes: StreamRuntime[] = [];

  const runtime = async () => {
    const r = createDistributedRuntime({
      service: 'detector-bad-user-agent',
      brokers: BROKERS,
      topicPrefix: prefix,
      partitions: 3,
      replicationFactor: 1,
      redisUrl: REDIS_URL,
      redisPrefix: `${prefix}:`,
      logger: createLogger('detector-it', 'warn'),
    });
    runtimes.push(r);
    await r.start();
    return r;
  };

  const learned = async (r: StreamRuntime) =>
    (
      await new BaselineBook(detector.id, detector.baseline!, r.store, { shards: 3 }).load(
        ['shop.example'],
        2,
      )
    )
      .get('shop.example')!
      .count('carries:accept-language');

  beforeAll(async () => {
    await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch((err: Error) => {
      throw new Error(
        `Integration tests need the real Kafka and Redis (${err.message}); run them through \`npm test\`.`,
      );
    });
  });

  afterAll(async () => {
    for (const r of runtimes) await r.close().catch(() => undefined);
  });

  it('learns into Redis shards, votes, and a restarted detector keeps what it learned', async () => {
    const first = await runtime();
    const browsers = Array.from({ length: 300 }, (_, i) => event(i, CHROME));
    const scripts = Array.from({ length: 20 }, (_, i) =>
      event(1_000 + i, 'python-requests/2.32.3'),
    );
    await first.publish(
      'events',
      [...browsers, ...scripts].map((e) => ({ key: e.request.ip, value: e })),
      'test',
    );

    const votes: Vote[] = [];
    const reader = await first.consume({
      service: 'vote-reader',
      groupId: `reader-${prefix}`,
      input: 'votes',
      handler: async (records) => void votes.push(...records.map((r) => r.value!)),
    });
    let hosted: Subscription = await first.consume({
      service: 'detector-bad-user-agent',
      groupId: 'detector-bad-user-agent',
      input: 'events',
      handler: detectorHandler(detector, config, first.store, { shards: 3 }),
    });
    await until('the detector to vote on every client', () => votes.length >= 320);
    expect(
      votes
        .filter((v) => v.verdict === 'bot')
        .map((v) => v.eventId)
        .sort(),
    ).toEqual(scripts.map((e) => e.request.id).sort());
    await until('the baseline shards to be written', async () => (await learned(first)) === 300);
    await hosted.stop();
    await reader.stop();

    // A new process over the same Redis: what was learned is there before it reads anything.
    const second = await runtime();
    expect(await learned(second)).toBe(300);
    // The group resumes at its committed offsets: the learned events are not learned again,
    // a new one is learned exactly once.
    hosted = await second.consume({
      service: 'detector-bad-user-agent',
      groupId: 'detector-bad-user-agent',
      input: 'events',
      handler: detectorHandler(detector, config, second.store, { shards: 3 }),
    });
    await second.publish(
      'events',
      [event(2_000, CHROME)].map((e) => ({ key: e.request.ip, value: e })),
      'test',
    );
    await until('the new event to be learned', async () => (await learned(second)) === 301);
    await hosted.stop();
  });
});
