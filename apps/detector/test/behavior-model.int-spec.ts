/**
 * The suspicious behavior score's learned model on the real Kafka and Redis: the hosted detector
 * learns the transition model and the feature distributions of people's sessions into Redis
 * baseline shards, and a restarted detector — a new process over the same Redis — judges a
 * session that walks endpoints no person walks as a bot, naming the unusual transitions, with
 * nothing learned again.
 */
import { randomUUID } from 'node:crypto';
import type { SessionEvent, Vote } from '@moat/contracts';
import { BaselineBook, detectorHandler } from '@moat/detector-service';
import {
  getDetector,
  resolveDetectorConfig,
  type SuspiciousBehaviorScoreConfig,
} from '@moat/detectors';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  probeInfrastructure,
  type StreamRuntime,
} from '@moat/stream-kit';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const T0 = Date.UTC(2026, 9, 5, 8);
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';

/** A session's events with running features as the sessionizer computes them. */
function session(
  id: string,
  ip: string,
  start: number,
  steps: { route: string; gapMs: number; status?: number }[],
): SessionEvent[] {
  const gaps: number[] = [];
  const routes = new Set<string>();
  let t = start;
  let errors = 0;
  return steps.map((step, i) => {
    if (i > 0) {
      t += step.gapMs;
      gaps.push(step.gapMs);
    }
    routes.add(step.route);
    const status = step.status ?? 200;
    if (status >= 400) errors++;
    const mean = gaps.length > 0 ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / Math.max(1, gaps.length));
    return {
      v: 1,
      request: {
        v: 1,
        id: `${id}-${i}`,
        ts: t,
        app: 'shop.example',
        ip,
        method: 'GET',
        path: step.route.replace('{id}', String(100 + i)),
        query: {},
        status,
        requestBytes: 300,
        responseBytes: 2_000,
        latencyMs: 20,
        userAgent: CHROME,
        headerNames: ['host', 'user-agent', 'accept', 'accept-encoding', 'accept-language'],
        credentials: [],
      },
      sessionId: id,
      sessionKeyKind: 'fingerprint',
      route: step.route,
      session: {
        startedAt: start,
        requestCount: i + 1,
        durationMs: t - start,
        uniqueRoutes: routes.size,
        authAttempts: 0,
        authFailures: 0,
        bytesIn: 300 * (i + 1),
        bytesOut: 2_000 * (i + 1),
        errorResponses: errors,
        ...(gaps.length > 0 && { meanIntervalMs: mean, lastIntervalMs: step.gapMs }),
        ...(gaps.length >= 2 && {
          intervalStdDevMs: sd,
          intervalCv: sd / mean,
          minIntervalMs: Math.min(...gaps),
        }),
      },
    };
  });
}

const PATHS = [
  ['/', '/api/categories', '/api/products/{id}', '/api/products/{id}/reviews'],
  ['/', '/api/search', '/api/products/{id}', '/api/cart'],
  ['/api/categories', '/api/products/{id}', '/api/products/{id}/reviews', '/api/cart'],
];

function person(k: number): SessionEvent[] {
  const path = PATHS[k % PATHS.length];
  const steps = Array.from({ length: 12 + (k % 5) }, (_, i) => ({
    route: path[(i + Math.floor(k / 3)) % path.length],
    gapMs: 800 + ((k * 7_919 + i * 104_729) % 15_000),
  }));
  return session(`p${k}`, `198.51.${Math.floor(k / 200)}.${k % 200}`, T0 + k * 20_000, steps);
}

const until = async (what: string, condition: () => Promise<boolean> | boolean, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

describe('suspicious behavior score on real Kafka and Redis', () => {
  const prefix = `it-sbs-${randomUUID().slice(0, 8)}`;
  const detector = getDetector('suspicious-behavior-score');
  const config = resolveDetectorConfig(detector, {
    minModelSteps: 300,
    minBaselineSessions: 50,
  }) as SuspiciousBehaviorScoreConfig;
  const runtimes: StreamRuntime[] = [];
  const service = 'detector-suspicious-behavior-score';

  const runtime = async () => {
    const r = createDistributedRuntime({
      service,
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
    ).get('shop.example')!;

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

  it('learns the model into Redis, and a restarted detector flags an odd session with its transitions', async () => {
    const first = await runtime();
    const people = Array.from({ length: 120 }, (_, k) => person(k)).flat();
    await first.publish(
      'events',
      people.map((e) => ({ key: e.request.ip, value: e })),
      'test',
    );
    let hosted = await first.consume({
      service,
      groupId: service,
      input: 'events',
      // Learning only (the model judges nothing below minModelSteps), so every session teaches.
      handler: detectorHandler(detector, { ...config, minModelSteps: 1_000_000 }, first.store, {
        shards: 3,
      }),
    });
    // Every person session reaches 10 requests and teaches at most 32 steps: 120 sessions × 12–16.
    const taught = people.filter((e) => e.session.requestCount > 1).length + 120;
    let steps = 0;
    await until(`the transition model to learn ${taught} steps (has ${steps})`, async () => {
      steps = (await learned(first)).count('arrival');
      return steps === taught;
    });
    await hosted.stop();

    const second = await runtime();
    const view = await learned(second);
    expect(view.count('arrival')).toBe(taught);
    expect(view.count('departure', '^')).toBe(120);
    expect(view.count('f:interval_cv')).toBeGreaterThan(config.minBaselineSessions);

    const votes: Vote[] = [];
    const reader = await second.consume({
      service: 'vote-reader',
      groupId: `reader-${prefix}`,
      input: 'votes',
      handler: async (records) => void votes.push(...records.map((r) => r.value!)),
    });
    hosted = await second.consume({
      service,
      groupId: service,
      input: 'events',
      handler: detectorHandler(detector, config, second.store, { shards: 3 }),
    });
    const odd = session(
      'odd',
      '203.0.113.77',
      T0 + 200 * 20_000,
      ['/api/admin/users', '/api/internal/config', '/api/payment', '/api/v0/users', '/api/export']
        .flatMap((route) => [route, `${route}/{id}`])
        .concat(['/api/admin/a', '/api/admin/b', '/api/admin/c', '/api/admin/d'])
        .map((route) => ({ route, gapMs: 1_000, status: 403 })),
    );
    await second.publish(
      'events',
      odd.map((e) => ({ key: e.request.ip, value: e })),
      'test',
    );
    await until('the odd session to draw a bot vote', () =>
      votes.some((v) => v.ip === '203.0.113.77' && v.verdict === 'bot'),
    );
    const vote = votes.find((v) => v.ip === '203.0.113.77' && v.verdict === 'bot')!;
    expect(vote.detector).toBe('suspicious-behavior-score');
    const transitions = vote.evidence.filter((e) => e.metric === 'unusual_transition');
    expect(transitions.length).toBe(3);
    expect(transitions[0].detail).toMatch(/ -> GET \/api\/(admin|internal|v0)\/.*seen 0 times/);
    // Person sessions were read again by no one: the model counts what it counted before.
    expect((await learned(second)).count('departure', '^')).toBe(120);
    await hosted.stop();
    await reader.stop();
  });
});
