import type { ConfigEntry, Profile } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { ConfigFollower, type ConfigChange, type ConfigRejection } from './config-follower';
import { createStandaloneRuntime, type StreamRuntime } from './runtime';

const profile = (name: string, overrides: Partial<Profile> = {}): ConfigEntry => ({
  v: 1,
  kind: 'profile',
  updatedAt: 1,
  profile: {
    name,
    botTypes: ['scraping'],
    threshold: 0.5,
    reaction: 'deny',
    durationMs: 3_600_000,
    applications: ['*'],
    ...overrides,
  },
});

async function until(what: string, condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ConfigFollower', () => {
  let runtime: StreamRuntime;
  let follower: ConfigFollower;
  const changes: ConfigChange[][] = [];
  const rejections: ConfigRejection[] = [];

  /** Writes raw bytes, bypassing the publisher's validation (what a broken client could do). */
  const raw = (key: string | null, value: string | null) =>
    runtime.bus
      .producer()
      .send([
        { topic: runtime.topics.config, key, value: value === null ? null : Buffer.from(value) },
      ]);
  const publish = (
    entry: ConfigEntry,
    key = `profile:${(entry as { profile: Profile }).profile.name}`,
  ) => runtime.publish('config', [{ key, value: entry }], 'test');

  beforeEach(async () => {
    runtime = createStandaloneRuntime({ logger: createLogger('test', 'silent') });
    await runtime.start();
    changes.length = 0;
    rejections.length = 0;
  });

  afterEach(async () => {
    await follower?.stop();
    await runtime.close();
  });

  function follow(validate?: ConstructorParameters<typeof ConfigFollower>[0]['validate']) {
    follower = new ConfigFollower({ runtime, service: 'test', validate });
    follower.onChange((c) => changes.push(c));
    follower.onRejected((r) => rejections.push(r));
    return follower;
  }

  it('is ready once it has read what the topic held at start, keeping the latest entry per key', async () => {
    await publish(profile('a', { threshold: 0.9 }));
    await publish(profile('b'));
    await publish(profile('a', { threshold: 0.6 }));
    follow();
    await follower.start();
    await follower.ready();
    expect(follower.isReady).toBe(true);
    expect(
      follower
        .profiles()
        .map((e) => [e.profile.name, e.profile.threshold])
        .sort(),
    ).toEqual([
      ['a', 0.6],
      ['b', 0.5],
    ]);
    expect(runtime.health.report().checks['config:test']).toMatchObject({ state: 'ok' });
  });

  it('is ready at once on an empty topic, and follows entries published later', async () => {
    follow();
    await follower.start();
    await follower.ready();
    expect(follower.all()).toEqual([]);
    await publish(profile('late'));
    await until('the late entry', () => follower.get('profile:late') !== undefined);
    expect(changes.flat()).toEqual([
      { key: 'profile:late', previous: undefined, current: profile('late') },
    ]);
  });

  it('keeps the entry in force when a newer one fails the schema, and names the field', async () => {
    follow();
    await follower.start();
    await publish(profile('p', { reaction: 'graylist' }));
    await raw('profile:p', JSON.stringify(profile('p', { threshold: 1.5 })));
    await raw('profile:p', '{"v":1,');
    await until('two rejections', () => rejections.length === 2);
    expect(follower.get('profile:p')).toEqual(profile('p', { reaction: 'graylist' }));
    expect(rejections[0]).toMatchObject({ key: 'profile:p', field: '/profile/threshold' });
    expect(rejections[0].reason).toMatch(/must be <= 1/);
    expect(rejections[1]).toMatchObject({ key: 'profile:p', field: '(value)' });
    expect(rejections[1].reason).toMatch(/invalid JSON/);
    expect(follower.rejections()).toHaveLength(1); // the latest per key
    const rejected = await runtime.metrics.registry.getSingleMetricAsString(
      'moat_config_rejected_total',
    );
    expect(rejected).toMatch(/moat_config_rejected_total\{service="test"\} 2/);
  });

  it('rejects what the service check refuses, with the field it names', async () => {
    follow((entry) =>
      entry.kind === 'profile' && entry.profile.applications.includes('forbidden.example')
        ? { field: '/profile/applications/0', reason: 'not allowed here' }
        : undefined,
    );
    await follower.start();
    await publish(profile('p'));
    await publish(profile('p', { applications: ['forbidden.example'] }));
    await until('the rejection', () => rejections.length === 1);
    expect(rejections[0]).toMatchObject({
      key: 'profile:p',
      field: '/profile/applications/0',
      reason: 'not allowed here',
    });
    expect(follower.get('profile:p')).toEqual(profile('p'));
  });

  it('rejects an entry published under a key that does not name it, or under no key', async () => {
    follow();
    await follower.start();
    await raw('profile:other', JSON.stringify(profile('p')));
    await raw(null, JSON.stringify(profile('p')));
    await until('two rejections', () => rejections.length === 2);
    expect(rejections[0]).toMatchObject({ key: 'profile:other', field: '(key)' });
    expect(rejections[0].reason).toMatch(/publish it under "profile:p"/);
    expect(rejections[1]).toMatchObject({ key: null, field: '(key)' });
    expect(follower.all()).toEqual([]);
  });

  it('deletes on a tombstone and tells listeners what was there', async () => {
    follow();
    await follower.start();
    await publish(profile('p'));
    await until('the entry', () => follower.get('profile:p') !== undefined);
    await runtime.publish('config', [{ key: 'profile:p', value: null }], 'test');
    await until('the deletion', () => follower.get('profile:p') === undefined);
    expect(changes.flat().at(-1)).toEqual({
      key: 'profile:p',
      previous: profile('p'),
      current: undefined,
    });
  });

  it('does not report a change for an entry published again unchanged', async () => {
    follow();
    await follower.start();
    await publish(profile('p'));
    await publish(profile('p'));
    await publish(profile('q'));
    await until('q', () => follower.get('profile:q') !== undefined);
    expect(changes.flat().map((c) => c.key)).toEqual(['profile:p', 'profile:q']);
  });

  it('survives a listener that throws', async () => {
    follow();
    follower.onChange(() => {
      throw new Error('listener bug');
    });
    await follower.start();
    await publish(profile('p'));
    await publish(profile('q'));
    await until('both entries', () => follower.all().length === 2);
    expect(changes.flat()).toHaveLength(2);
  });
});
