import { MemoryStructureStore } from '@moat/stream-kit';
import { BotRegistry, mergeBotRecord } from './registry';
import type { BotSnapshot } from './score.processor';

const T = 1_764_000_000_000;
const DAY = 86_400_000;

const snap = (overrides: Partial<BotSnapshot> = {}): BotSnapshot => ({
  subject: '203.0.113.7',
  epoch: T,
  firstSeen: T,
  lastSeen: T + 1000,
  detectedAt: T + 500,
  requests: 10,
  votes: 12,
  sessions: 2,
  recentSessions: ['s1', 's2'],
  apps: ['shop.example'],
  botTypes: ['scraping'],
  confidence: 0.8,
  types: [{ botType: 'scraping', confidence: 0.8, worked: 2 }],
  profiles: ['default'],
  detectors: [],
  ...overrides,
});

describe('mergeBotRecord', () => {
  it('replaces the counts with a snapshot of the same state incarnation (a repeated write changes nothing)', () => {
    const first = mergeBotRecord(undefined, snap());
    const next = mergeBotRecord(first, snap({ lastSeen: T + 2000, requests: 15, votes: 20 }));
    expect(next).toMatchObject({ requests: 15, votes: 20, lastSeen: T + 2000, firstSeen: T });
    expect(mergeBotRecord(next, snap({ lastSeen: T + 2000, requests: 15, votes: 20 }))).toEqual(
      next,
    );
  });

  it('adds a new incarnation (the bot came back after its state expired) to what was counted', () => {
    const before = mergeBotRecord(undefined, snap());
    const back = snap({
      epoch: T + DAY,
      firstSeen: T + DAY,
      lastSeen: T + DAY + 100,
      detectedAt: T + DAY + 50,
      requests: 3,
      votes: 4,
      sessions: 1,
      botTypes: ['account-takeover'],
    });
    const merged = mergeBotRecord(before, back);
    expect(merged).toMatchObject({
      firstSeen: T,
      detectedAt: T + 500,
      lastSeen: T + DAY + 100,
      requests: 13,
      votes: 16,
      sessions: 3,
      botTypes: ['scraping', 'account-takeover'],
    });
    // Written twice (a retried batch): the same record.
    expect(mergeBotRecord(merged, back)).toEqual(merged);
  });
});

describe('BotRegistry', () => {
  it('lists bots by last activity, most recent first, and finds one by address', async () => {
    const store = new MemoryStructureStore();
    const registry = new BotRegistry(store, { retentionMs: 30 * DAY, maxBots: 100 });
    await store.write(
      await registry.prepare([
        snap({ subject: '198.51.100.1', lastSeen: T + 10 }),
        snap({ subject: '198.51.100.2', lastSeen: T + 30 }),
        snap({ subject: '198.51.100.3', lastSeen: T + 20 }),
      ]),
    );
    const { total, bots } = await registry.list(0, 2);
    expect(total).toBe(3);
    expect(bots.map((b) => b.subject)).toEqual(['198.51.100.2', '198.51.100.3']);
    expect((await registry.get('198.51.100.1'))?.lastSeen).toBe(T + 10);
    expect(await registry.get('198.51.100.9')).toBeUndefined();
  });

  it('stays bounded: at most maxBots, none idle longer than the retention (event time), records expire', async () => {
    let now = 0;
    const store = new MemoryStructureStore(() => now);
    const registry = new BotRegistry(store, { retentionMs: 7 * DAY, maxBots: 50 });
    for (let i = 0; i < 200; i++) {
      await store.write(
        await registry.prepare([
          snap({ subject: `10.0.${i >> 8}.${i & 255}`, lastSeen: T + i * 1000 }),
        ]),
      );
    }
    expect(await store.zcard(BotRegistry.INDEX)).toBe(50);
    expect((await registry.list(0, 1)).bots[0].subject).toBe('10.0.0.199');
    await store.write(
      await registry.prepare([snap({ subject: '10.9.9.9', lastSeen: T + 8 * DAY })]),
    );
    expect(await store.zcard(BotRegistry.INDEX)).toBe(1);
    now = 7 * DAY; // wall clock: every record's TTL has run out
    expect(await registry.get('10.9.9.9')).toBeUndefined();
    expect(store.size).toBe(0);
  });
});
