/**
 * The scoring service as a separate process on the real Kafka broker and the real Redis, its
 * configuration changed while it runs: a profile published on moat.config.v1 changes its
 * reaction without a restart; an invalid update is rejected (field named, dead-lettered once)
 * and the profile in force stays; a manual allow beats an automatic deny; a manual deny with
 * an expiry is published and lifted in event time; an automatic decision is lifted with a
 * tombstone when the stream time of its partition passes its expiry; the bots registry and the
 * daily statistics are in Redis. Prints how long a published profile took to apply.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  codecs,
  type ConfigEntry,
  type Decision,
  type DeadLetter,
  type Profile,
  type Vote,
} from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  createDistributedRuntime,
  probeInfrastructure,
  RedisStructureStore,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';

const ROOT = join(__dirname, '../../..');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `scoring-it-${randomUUID().slice(0, 8)}`;
const LOG_DIR = join(ROOT, 'tmp', RUN);
const PORT = 18_900 + Math.floor(Math.random() * 900);
const T = Date.UTC(2026, 0, 15, 12); // event time of the test's traffic
const MIN = 60_000;
const HOUR = 3_600_000;

const vote = (ip: string, ts: number, verdict: 'bot' | 'clean' = 'bot'): Vote => ({
  v: 1,
  id: `request-rate:${ip}:${ts}`,
  detector: 'request-rate',
  ts,
  app: 'shop.example',
  ip,
  sessionId: `session-${ip}`,
  verdict,
  score: verdict === 'bot' ? 1 : 0,
  evidence: [{ metric: 'intervals-over-threshold', value: 1, threshold: 0.5 }],
  eventId: `${ip}:${ts}`,
});
const profile = (reaction: Profile['reaction'], overrides: Partial<Profile> = {}): ConfigEntry => ({
  v: 1,
  kind: 'profile',
  updatedAt: Date.now(),
  profile: {
    name: 'api',
    botTypes: ['scraping', 'security-crawler'],
    sensitivity: 'medium',
    threshold: 0.7,
    reaction,
    durationMs: HOUR,
    applications: ['shop.example'],
    ...overrides,
  },
});

async function waitFor<V>(
  what: string,
  probe: () => Promise<V | undefined> | V | undefined,
  timeoutMs = 30_000,
): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}

interface PolicyView {
  published: boolean;
  profiles: Profile[];
  manual: { subject: string }[];
  rejected: { key: string; field: string; reason: string }[];
}

describe('scoring follows moat.config.v1 live, on real Kafka and Redis', () => {
  let runtime: StreamRuntime;
  let scoring: ChildProcess;
  let exited: Promise<number | null>;
  const subscriptions: Subscription[] = [];
  const decisions: { key: string; value: Decision | null }[] = [];
  const deadLetters: DeadLetter[] = [];

  const decisionsFor = (subject: string) =>
    decisions.filter((d) => d.key === subject).map((d) => d.value);
  const publishConfig = (key: string, value: ConfigEntry | null) =>
    runtime.publish('config', [{ key, value }], 'it');
  const publishVotes = (...votes: Vote[]) =>
    runtime.publish(
      'votes',
      votes.map((v) => ({ key: v.ip, value: v })),
      'it',
    );
  const policy = async () => (await get<PolicyView>('/v1/scoring/policy')).body;
  /** Resolves once scoring has processed `ip`'s vote at `ts` (its registry record shows it). */
  const processed = (ip: string, ts: number) =>
    waitFor(`scoring to process ${ip} at ${ts}`, async () => {
      const { status, body } = await get<{ lastSeen: number }>(`/v1/bots/${ip}`);
      return status === 200 && body.lastSeen >= ts ? true : undefined;
    });

  beforeAll(async () => {
    const report = await probeInfrastructure({ brokers: BROKERS, redisUrl: REDIS_URL }).catch(
      (err: Error) => {
        throw new Error(
          `Integration tests need the real Kafka and Redis (${err.message}); run them through \`npm test\`.`,
        );
      },
    );
    process.stdout.write(
      `scoring integration: Kafka cluster ${report.kafka.clusterId}, Redis ${report.redis.version}; topic prefix ${RUN}, log in tmp/${RUN}/scoring.log\n`,
    );
    runtime = createDistributedRuntime({
      service: 'it',
      brokers: BROKERS,
      topicPrefix: RUN,
      partitions: 3,
      replicationFactor: 1,
      redisUrl: REDIS_URL,
      redisPrefix: `${RUN}:`,
      store: 'memory',
      logger: createLogger('it', 'error'),
    });
    await runtime.start();
    for (const role of ['decisions', 'dlq'] as const) {
      subscriptions.push(
        await runtime.bus.subscribe({
          groupId: `it-${role}`,
          topics: [runtime.topics[role]],
          mode: 'broadcast',
          onBatch: async (batch) => {
            for (const m of batch.messages) {
              if (role === 'decisions') {
                const decoded = codecs.decisions.decode(m.value);
                if (!decoded.ok) throw new Error(`invalid decision: ${decoded.reason}`);
                decisions.push({ key: m.key!.toString(), value: decoded.value });
              } else {
                deadLetters.push(JSON.parse(m.value!.toString()) as DeadLetter);
              }
            }
          },
        }),
      );
    }

    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(join(LOG_DIR, 'scoring.log'));
    scoring = spawn(process.execPath, [join(ROOT, 'apps/scoring/dist/main.js')], {
      env: {
        ...process.env,
        PORT: String(PORT),
        HOST: '127.0.0.1',
        KAFKA_BROKERS: BROKERS.join(','),
        REDIS_URL,
        MOAT_TOPIC_PREFIX: RUN,
        MOAT_TOPIC_PARTITIONS: '3',
        MOAT_REDIS_PREFIX: `${RUN}:`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scoring.stdout!.pipe(log);
    scoring.stderr!.pipe(log);
    exited = new Promise((resolve) => scoring.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'scoring /readyz',
        async () => ((await fetch(`http://127.0.0.1:${PORT}/readyz`)).ok ? true : undefined),
        60_000,
      );
    } catch (err) {
      process.stdout.write(readFileSync(join(LOG_DIR, 'scoring.log'), 'utf8').slice(-4000));
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    if (scoring && scoring.exitCode === null) scoring.kill('SIGKILL');
    for (const s of subscriptions) await s.stop();
    await runtime?.close();
  });

  it('changes its reaction when a profile is published, without a restart', async () => {
    expect(await policy()).toMatchObject({ published: false, profiles: [{ name: 'default' }] });

    const applied: number[] = [];
    const publishAndWait = async (entry: ConfigEntry, reaction: Profile['reaction']) => {
      const started = performance.now();
      await publishConfig('profile:api', entry);
      await waitFor(`profile api → ${reaction}`, async () =>
        (await policy()).profiles[0]?.reaction === reaction ? true : undefined,
      );
      applied.push(performance.now() - started);
    };

    await publishAndWait(profile('monitor'), 'monitor');
    await publishVotes(vote('203.0.113.1', T));
    await processed('203.0.113.1', T);
    expect(decisionsFor('203.0.113.1')).toEqual([]); // monitor: recorded, not acted on

    await publishAndWait(profile('graylist'), 'graylist');
    await publishVotes(vote('203.0.113.2', T + MIN));
    const gray = await waitFor(
      'a graylist decision',
      () => decisionsFor('203.0.113.2')[0] ?? undefined,
    );
    expect(gray).toMatchObject({ action: 'graylist', profile: 'api', createdAt: T + MIN });

    await publishAndWait(profile('deny'), 'deny');
    await publishVotes(vote('203.0.113.2', T + 2 * MIN), vote('203.0.113.3', T + 2 * MIN));
    const escalated = await waitFor('the escalation to deny', () =>
      decisionsFor('203.0.113.2').find((d) => d?.action === 'deny'),
    );
    expect(escalated).toMatchObject({
      createdAt: T + MIN,
      updatedAt: T + 2 * MIN,
      expiresAt: T + 2 * MIN + HOUR,
    });
    await waitFor('a deny decision', () =>
      decisionsFor('203.0.113.3').find((d) => d?.action === 'deny'),
    );
    process.stdout.write(
      `profile change applied by the running service in ${applied.map((ms) => ms.toFixed(0)).join(', ')} ms (publish → policy in force)\n`,
    );
  });

  it('rejects an invalid profile update naming the field, dead-letters it once, and keeps the profile in force', async () => {
    await runtime.bus.producer().send([
      {
        topic: runtime.topics.config,
        key: 'profile:api',
        value: Buffer.from(JSON.stringify(profile('monitor', { applications: ['shop example'] }))),
      },
    ]);
    const rejected = await waitFor('the rejection', async () => (await policy()).rejected[0]);
    expect(rejected).toMatchObject({ key: 'profile:api', field: '/profile/applications/0' });
    const letter = await waitFor('the dead letter', () => deadLetters[0]);
    expect(letter.reason).toMatch(/\/profile\/applications\/0 must match pattern/);
    expect((await policy()).profiles[0]).toMatchObject({ name: 'api', reaction: 'deny' });
    await publishVotes(vote('203.0.113.4', T + 3 * MIN));
    await waitFor('a deny decision', () =>
      decisionsFor('203.0.113.4').find((d) => d?.action === 'deny'),
    );
    expect(deadLetters).toHaveLength(1);
  });

  it('lets a manual allow beat an automatic deny, and lifts an expired manual deny in event time', async () => {
    await publishConfig('manual-decision:198.51.100.0/24', {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T,
      subject: '198.51.100.0/24',
      action: 'allow',
      note: 'office',
    });
    await publishConfig('manual-decision:203.0.113.50', {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T,
      subject: '203.0.113.50',
      action: 'deny',
      expiresAt: T + 10 * MIN,
    });
    const allow = await waitFor(
      'the manual allow',
      () => decisionsFor('198.51.100.0/24')[0] ?? undefined,
    );
    expect(allow).toMatchObject({
      action: 'allow',
      source: 'manual',
      profile: 'manual',
      note: 'office',
    });
    const deny = await waitFor(
      'the manual deny',
      () => decisionsFor('203.0.113.50')[0] ?? undefined,
    );
    expect(deny).toMatchObject({ action: 'deny', source: 'manual', expiresAt: T + 10 * MIN });
    await waitFor('both manual entries in force', async () =>
      (await policy()).manual.length === 2 ? true : undefined,
    );

    await publishVotes(vote('198.51.100.7', T + 4 * MIN));
    await processed('198.51.100.7', T + 4 * MIN);
    expect(decisionsFor('198.51.100.7')).toEqual([]);

    await publishVotes(vote('203.0.113.60', T + 11 * MIN)); // stream time passes the expiry
    await waitFor('the manual deny lifted', () =>
      decisionsFor('203.0.113.50').at(-1) === null ? true : undefined,
    );
    await waitFor('the expired entry deleted', async () =>
      (await policy()).manual.map((m) => m.subject).join() === '198.51.100.0/24' ? true : undefined,
    );
  });

  it('lifts an automatic decision once the stream time of its partition passes its expiry', async () => {
    const before = decisionsFor('203.0.113.3').length;
    // A vote of the same subject is on the same partition; at T + 3 h it is clean.
    await publishVotes(vote('203.0.113.3', T + 3 * HOUR, 'clean'));
    await waitFor('the tombstone', () =>
      decisionsFor('203.0.113.3').at(-1) === null ? true : undefined,
    );
    expect(decisionsFor('203.0.113.3').slice(before)).toEqual([null]);
  });

  it('keeps the bots registry and the daily statistics in Redis', async () => {
    const bot = (await get<Record<string, unknown>>('/v1/bots/203.0.113.2')).body;
    expect(bot).toMatchObject({
      subject: '203.0.113.2',
      firstSeen: T + MIN,
      lastSeen: T + 2 * MIN,
      requests: 2,
      sessions: 1,
      botTypes: expect.arrayContaining(['scraping', 'security-crawler']),
      decision: { action: 'deny', profile: 'api', createdAt: T + MIN },
    });
    expect((bot.detectors as { evidence: unknown[] }[])[0].evidence).toEqual([
      { metric: 'intervals-over-threshold', value: 1, threshold: 0.5 },
    ]);
    const { body: list } = await get<{ total: number; bots: { subject: string }[] }>(
      '/v1/bots?limit=3',
    );
    expect(list.total).toBeGreaterThanOrEqual(6);
    expect(list.bots[0].subject).toBe('203.0.113.3'); // the latest activity (T + 3 h)

    const { body: stats } = await get<{
      comparison: { metric: string; current: { count: number }; changePct: number | null }[];
      daily: { day: string; counts: Record<string, number> }[];
    }>(`/v1/statistics?asOf=${T}&days=30`);
    const byMetric = Object.fromEntries(stats.comparison.map((c) => [c.metric, c]));
    // Denylisted on the day: 203.0.113.2 (escalated), .3, .4, .60; graylisted: .2; not the
    // monitored .1 nor the allowed 198.51.100.7, though both are bots in the registry.
    expect(byMetric.denylisted.current.count).toBe(4);
    expect(byMetric.bots.current.count).toBe(6);
    expect(byMetric.graylisted.current.count).toBe(1);
    expect(byMetric.denylisted.changePct).toBeNull(); // nothing the 30 days before
    expect(stats.daily.at(-1)).toMatchObject({ day: '2026-01-15' });

    // The structures behave on Redis as in memory, including expiry.
    const store = new RedisStructureStore({ url: REDIS_URL, prefix: `${RUN}:check:` });
    await store.connect();
    try {
      await store.write([
        {
          op: 'zadd',
          key: 'z',
          members: [
            { member: 'a', score: 2 },
            { member: 'b', score: 1 },
            { member: 'c', score: 3 },
          ],
        },
        { op: 'zcap', key: 'z', max: 2 },
        { op: 'pfadd', key: 'h1', members: ['x', 'y'], ttlMs: 300 },
        { op: 'pfadd', key: 'h2', members: ['y', 'z'], ttlMs: 60_000 },
      ]);
      expect(await store.zrangeByScore('z', -Infinity, Infinity, 10)).toEqual([
        { member: 'a', score: 2 },
        { member: 'c', score: 3 },
      ]);
      expect(await store.pfcount(['h1', 'h2'])).toBe(3);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.pfcount(['h1', 'h2'])).toBe(2);
      await store.write([
        { op: 'del', key: 'z' },
        { op: 'del', key: 'h2' },
      ]);
    } finally {
      await store.close();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    scoring.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
