import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codecs, type ConfigEntry } from '@moat/contracts';
import { createLogger } from '@moat/observability';
import { createStandaloneRuntime, MemoryBus, type StreamRuntime } from '@moat/stream-kit';
import {
  planApply,
  ProfileFileError,
  publishProfiles,
  readConfig,
  readProfileFile,
} from './profile-admin';

const NOW = 1_764_000_000_000;

function file(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'moat-profiles-'));
  const path = join(dir, 'profiles.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** What is on the config topic, latest per key (null: deleted). */
function topic(runtime: StreamRuntime): Map<string, ConfigEntry | null> {
  const latest = new Map<string, ConfigEntry | null>();
  for (const m of (runtime.bus as MemoryBus).read(runtime.topics.config)) {
    latest.set(m.key!, m.value === null ? null : (JSON.parse(m.value.toString()) as ConfigEntry));
  }
  return latest;
}

describe('readProfileFile', () => {
  it('lists every problem with its field and says nothing was published', () => {
    const path = file({ profiles: [{ name: 'a', reaction: 'deny', threshold: 2 }, { name: 'b' }] });
    expect(() => readProfileFile(path, NOW)).toThrow(ProfileFileError);
    try {
      readProfileFile(path, NOW);
    } catch (err) {
      expect((err as Error).message).toBe(
        `${path}: 2 problems, nothing published\n` +
          '/profiles/0/threshold: threshold 2 is out of range: use a number in (0, 1]\n' +
          '/profiles/1/reaction: required: one of monitor, graylist, deny',
      );
    }
  });

  it('reports a file that is not JSON', () => {
    expect(() => readProfileFile(file('{"profiles": ['), NOW)).toThrow(/\(file\): /);
  });
});

describe('planApply', () => {
  const entry = (name: string, threshold = 0.5, updatedAt = NOW): ConfigEntry => ({
    v: 1,
    kind: 'profile',
    updatedAt,
    profile: {
      name,
      botTypes: ['scraping'],
      threshold,
      reaction: 'deny',
      durationMs: 60_000,
      applications: ['*'],
    },
  });

  it('publishes what differs, leaves what is the same whenever it was written, prunes on request', () => {
    const current = [entry('same', 0.5, 1), entry('changed', 0.9), entry('gone')];
    const wanted = [entry('same'), entry('changed', 0.6), entry('new')];
    expect(planApply(wanted, current)).toEqual({
      publish: [entry('changed', 0.6), entry('new')],
      unchanged: ['profile:same'],
      delete: [],
      kept: [],
    });
    expect(planApply(wanted, current, { prune: true }).delete).toEqual(['profile:gone']);
    expect(planApply(wanted, current, { onlyMissing: true })).toMatchObject({
      publish: [entry('new')],
      kept: ['profile:same', 'profile:changed'],
    });
  });
});

describe('publishProfiles', () => {
  let runtime: StreamRuntime;
  beforeEach(async () => {
    runtime = createStandaloneRuntime({ logger: createLogger('test', 'silent') });
    await runtime.start();
  });
  afterEach(() => runtime.close());

  const profiles = {
    profiles: [
      { name: 'login', botTypes: ['account-takeover'], sensitivity: 'high', reaction: 'deny' },
      { name: 'watch', reaction: 'monitor' },
    ],
    manual: [{ subject: '198.51.100.0/24', action: 'allow' }],
  };

  it('publishes a valid file, then only what changed, then prunes what the file dropped', async () => {
    const first = await publishProfiles(runtime, file(profiles), { now: NOW });
    expect(first.published.sort()).toEqual([
      'manual-decision:198.51.100.0/24',
      'profile:login',
      'profile:watch',
    ]);
    for (const value of topic(runtime).values()) expect(codecs.config.check(value).ok).toBe(true);

    const second = await publishProfiles(
      runtime,
      file({ ...profiles, profiles: [{ ...profiles.profiles[0], sensitivity: 'paranoid' }] }),
      { now: NOW + 1, prune: true },
    );
    expect(second).toEqual({
      published: ['profile:login'],
      unchanged: ['manual-decision:198.51.100.0/24'],
      deleted: ['profile:watch'],
      kept: [],
    });
    const onTopic = topic(runtime);
    expect(onTopic.get('profile:watch')).toBeNull();
    expect(onTopic.get('profile:login')).toMatchObject({ profile: { threshold: 0.3 } });

    const follower = await readConfig(runtime, 'test');
    expect(
      follower
        .all()
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['manual-decision', 'profile']);
    await follower.stop();
  });

  it('publishes nothing when any entry is invalid', async () => {
    const bad = { ...profiles, manual: [{ subject: '10.0.0.5/8', action: 'deny' }] };
    await expect(publishProfiles(runtime, file(bad), { now: NOW })).rejects.toThrow(
      /\/manual\/0\/subject: "10.0.0.5\/8" has host bits set/,
    );
    expect(topic(runtime).size).toBe(0);
  });
});
