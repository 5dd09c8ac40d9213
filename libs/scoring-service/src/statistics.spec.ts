import { MemoryStructureStore } from '@moat/stream-kit';
import type { StatEvent } from './score.processor';
import { DAY_MS, dayOf, percentChange, Statistics } from './statistics';

const DAY0 = Date.UTC(2026, 0, 1); // a Thursday, 00:00 UTC

function stats(retentionDays = 70, now: () => number = () => 0) {
  const store = new MemoryStructureStore(now);
  const statistics = new Statistics(store, { retentionMs: retentionDays * DAY_MS });
  const record = (events: StatEvent[]) => store.write(statistics.writes(events));
  return { store, statistics, record };
}

const ev = (metric: StatEvent['metric'], member: string, from: number, to = from): StatEvent => ({
  metric,
  member,
  from,
  to,
});

describe('percentChange', () => {
  it('is the change in percent with one decimal, null when there is nothing to compare with', () => {
    expect(percentChange(150, 100)).toBe(50);
    expect(percentChange(50, 100)).toBe(-50);
    expect(percentChange(2, 3)).toBe(-33.3);
    expect(percentChange(0, 0)).toBe(0);
    expect(percentChange(5, 0)).toBeNull();
  });
});

describe('Statistics', () => {
  it('buckets by UTC day of the event time', () => {
    expect(dayOf(DAY0)).toBe('2026-01-01');
    expect(dayOf(DAY0 + DAY_MS - 1)).toBe('2026-01-01');
    expect(dayOf(DAY0 - 1)).toBe('2025-12-31');
  });

  it('counts distinct IPs per day; the same IP again, or the same batch again, counts once', async () => {
    const { statistics, record } = stats();
    const events = [
      ev('denylisted', '203.0.113.1', DAY0 + 1000),
      ev('denylisted', '203.0.113.1', DAY0 + 5000),
      ev('denylisted', '203.0.113.2', DAY0 + 9000),
      ev('bots:scraping', '203.0.113.1', DAY0),
    ];
    await record(events);
    await record(events);
    const [day] = await statistics.daily(DAY0, DAY0);
    expect(day.day).toBe('2026-01-01');
    expect(day.counts).toMatchObject({ denylisted: 2, 'bots:scraping': 1, graylisted: 0 });
  });

  it('counts a decision on every day it was in force', async () => {
    const { statistics, record } = stats();
    await record([
      ev('graylisted', '198.51.100.9', DAY0 + DAY_MS - 60_000, DAY0 + DAY_MS + 60_000),
    ]);
    const days = await statistics.daily(DAY0, DAY0 + 2 * DAY_MS);
    expect(days.map((d) => [d.day, d.counts.graylisted])).toEqual([
      ['2026-01-01', 1],
      ['2026-01-02', 1],
      ['2026-01-03', 0],
    ]);
  });

  it('compares the last 30 days with the 30 before, counting an IP once per period', async () => {
    const { statistics, record } = stats();
    const asOf = DAY0 + 59 * DAY_MS + 3_600_000; // day 59
    const events: StatEvent[] = [];
    // Previous period (days 0-29): 4 IPs, one of them on many days.
    for (let d = 0; d < 30; d += 3) events.push(ev('denylisted', '10.0.0.1', DAY0 + d * DAY_MS));
    for (const ip of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) events.push(ev('denylisted', ip, DAY0));
    // Current period (days 30-59): 5 IPs, 10.0.0.1 again among them.
    for (const [i, ip] of ['10.0.0.1', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4'].entries()) {
      events.push(ev('denylisted', ip, DAY0 + (30 + i * 7) * DAY_MS));
    }
    // Outside both periods: day 60 (after asOf) and the day before day 0.
    events.push(ev('denylisted', '10.9.9.9', DAY0 + 60 * DAY_MS));
    events.push(ev('denylisted', '10.9.9.8', DAY0 - DAY_MS));
    await record(events);
    expect(await statistics.compare('denylisted', asOf)).toEqual({
      metric: 'denylisted',
      current: { from: '2026-01-31', to: '2026-03-01', count: 5 },
      previous: { from: '2026-01-01', to: '2026-01-30', count: 4 },
      changePct: 25,
    });
    const overview = await statistics.overview(asOf);
    expect(overview.find((c) => c.metric === 'graylisted')).toMatchObject({
      current: { count: 0 },
      previous: { count: 0 },
      changePct: 0,
    });
  });

  it('keeps every day key only for its retention after the last write', async () => {
    let now = 0;
    const { store, record } = stats(61, () => now);
    // A decision that never expires counts on at most retention days, not forever.
    await record([ev('denylisted', '10.0.0.1', DAY0, 8.64e15)]);
    expect(store.size).toBeLessThanOrEqual(62);
    now = 61 * DAY_MS;
    expect(store.size).toBe(0);
  });
});
