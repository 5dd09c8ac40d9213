/**
 * The scoring service as a whole on the standalone runtime (in-memory bus and store): profiles
 * and manual entries published on the config topic while it runs change what it decides.
 * The same scenario runs on the real Kafka and Redis in apps/scoring/test.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { ConfigEntry, Decision, Profile, Vote } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import {
  createStandaloneRuntime,
  MemoryBus,
  StreamRuntimeModule,
  type StreamRuntime,
} from '@moat/stream-kit';
import { DEFAULT_PROFILE } from './profiles';
import { ScoringModule } from './scoring.module';
import { ScoringService } from './scoring.service';

const T = 1_764_000_000_000;
const MIN = 60_000;

const vote = (ip: string, ts: number): Vote => ({
  v: 1,
  id: `request-rate:${ip}:${ts}`,
  detector: 'request-rate',
  ts,
  app: 'shop.example',
  ip,
  verdict: 'bot',
  score: 1,
  evidence: [{ metric: 'share-over', value: 1 }],
  eventId: `${ip}:${ts}`,
});
const profile = (reaction: Profile['reaction'], overrides: Partial<Profile> = {}): ConfigEntry => ({
  v: 1,
  kind: 'profile',
  updatedAt: T,
  profile: { ...DEFAULT_PROFILE, name: 'api', reaction, ...overrides },
});

async function until<V>(
  what: string,
  probe: () => V | undefined | false,
  timeoutMs = 3000,
): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ScoringService on the standalone runtime', () => {
  let runtime: StreamRuntime;
  let app: INestApplicationContext;
  let scoring: ScoringService;

  const decisionsFor = (subject: string) =>
    (runtime.bus as MemoryBus)
      .read(runtime.topics.decisions)
      .filter((m) => m.key === subject)
      .map((m) => (m.value === null ? null : (JSON.parse(m.value.toString()) as Decision)));
  const config = (key: string, value: ConfigEntry | null) =>
    runtime.publish('config', [{ key, value }], 'test');
  const votes = (...list: Vote[]) =>
    runtime.publish(
      'votes',
      list.map((v) => ({ key: v.ip, value: v })),
      'test',
    );
  /** Waits until the registry shows the vote at `ts` processed for `ip`. */
  const processed = (ip: string, ts: number) =>
    waitFor(async () => ((await scoring.registry.get(ip))?.lastSeen ?? 0) >= ts, `${ip} at ${ts}`);
  async function waitFor(probe: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  beforeEach(async () => {
    runtime = createStandaloneRuntime({ logger: createLogger('test', 'silent') });
    await runtime.start();
    app = await NestFactory.createApplicationContext(
      {
        module: class TestModule {},
        imports: [
          StreamRuntimeModule.forRoot(runtime),
          ScoringModule.register({ profiles: [DEFAULT_PROFILE], verdictHorizonMs: 3_600_000 }),
        ],
      },
      { logger: false },
    );
    await app.init();
    scoring = app.get(ScoringService);
  });

  afterEach(async () => {
    await app.close();
  });

  it('changes its reaction when a profile is published, without a restart', async () => {
    expect(scoring.policy.published).toBe(false);
    await config('profile:api', profile('monitor'));
    await until('the monitor profile', () => scoring.policy.profiles[0]?.reaction === 'monitor');
    await votes(vote('203.0.113.1', T));
    await processed('203.0.113.1', T);
    expect(decisionsFor('203.0.113.1')).toEqual([]);

    await config('profile:api', profile('graylist'));
    await until('the graylist profile', () => scoring.policy.profiles[0]?.reaction === 'graylist');
    await votes(vote('203.0.113.2', T + MIN));
    const [gray] = await until(
      'a decision',
      () => decisionsFor('203.0.113.2').length > 0 && decisionsFor('203.0.113.2'),
    );
    expect(gray).toMatchObject({ action: 'graylist', profile: 'api', source: 'auto' });

    // An invalid update is rejected with its field; the graylist profile stays in force.
    await runtime.bus.producer().send([
      {
        topic: runtime.topics.config,
        key: 'profile:api',
        value: Buffer.from(JSON.stringify(profile('deny', { threshold: 2 }))),
      },
    ]);
    await until('the rejection', () => scoring.follower.rejections().length === 1);
    expect(scoring.follower.rejections()[0]).toMatchObject({
      key: 'profile:api',
      field: '/profile/threshold',
    });
    await votes(vote('203.0.113.3', T + 2 * MIN));
    const [still] = await until(
      'a decision',
      () => decisionsFor('203.0.113.3').length > 0 && decisionsFor('203.0.113.3'),
    );
    expect(still?.action).toBe('graylist');
  });

  it('publishes manual entries as decisions, lets a manual allow win, and lifts an expired manual deny', async () => {
    await config('manual-decision:198.51.100.0/24', {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T,
      subject: '198.51.100.0/24',
      action: 'allow',
    });
    await config('manual-decision:203.0.113.50', {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T,
      subject: '203.0.113.50',
      action: 'deny',
      expiresAt: T + 10 * MIN,
    });
    await until(
      'both manual decisions',
      () =>
        decisionsFor('198.51.100.0/24').length === 1 && decisionsFor('203.0.113.50').length === 1,
    );
    expect(decisionsFor('198.51.100.0/24')[0]).toMatchObject({ action: 'allow', source: 'manual' });
    await until('the follower', () => scoring.policy.manual.size === 2);

    await votes(vote('198.51.100.7', T + MIN));
    await processed('198.51.100.7', T + MIN);
    expect(decisionsFor('198.51.100.7')).toEqual([]); // the allow won
    expect((await scoring.registry.get('198.51.100.7'))?.decision).toBeUndefined();

    await votes(vote('203.0.113.60', T + 11 * MIN)); // stream time passes the manual deny's expiry
    await until('the manual deny lifted', () => decisionsFor('203.0.113.50').at(-1) === null);
    await until('the expired entry deleted', () => scoring.policy.manual.size === 1);
  });
});
