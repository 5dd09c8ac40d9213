/**
 * Daily statistics of detection, in Redis with bounded retention. Per UTC day (event time):
 * distinct bots in total and per bot type, and distinct IPs deny- and graylisted (a decision
 * counts on every day it was in force). Each is a HyperLogLog (≤ 12 kB, ~0.8 % standard
 * error): adding an IP twice changes nothing, so a batch processed again after a crash cannot
 * inflate a count, and the distinct count over any run of days is the union of its days
 * (PFCOUNT over several keys), which is what comparing the last 30 days with the 30 before
 * needs. Every key expires `retentionMs` after its last write.
 */
import { BOT_TYPES } from '@moat/contracts';
import type { StructureStore, StructureWrite } from '@moat/stream-kit';
import type { StatEvent } from './score.processor';

export const DAY_MS = 86_400_000;
export type StatMetric = StatEvent['metric'];

export const STAT_METRICS: readonly StatMetric[] = [
  'bots',
  ...BOT_TYPES.map((t) => `bots:${t}` as const),
  'denylisted',
  'graylisted',
];

/** The UTC day of an event time, as YYYY-MM-DD. */
export function dayOf(ts: number): string {
  return new Date(Math.floor(ts / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Percentage change from `previous` to `current`, one decimal; null when there is nothing to
 * compare with (previous is 0 and current is not: "new").
 */
export function percentChange(current: number, previous: number): number | null {
  if (previous === 0) return current === 0 ? 0 : null;
  return Math.round(((current - previous) / previous) * 1000) / 10;
}

export interface PeriodComparison {
  metric: StatMetric;
  /** Inclusive UTC days of the current period (the last `days`, ending on asOf's day). */
  current: { from: string; to: string; count: number };
  previous: { from: string; to: string; count: number };
  /** (current - previous) / previous in percent; null when previous is 0 and current is not. */
  changePct: number | null;
}

export interface DailyStats {
  day: string;
  counts: Record<StatMetric, number>;
}

export interface StatisticsOptions {
  /** How long a day's counts are kept after its last write; at least 61 days for 30-vs-30. */
  retentionMs: number;
}

export class Statistics {
  static readonly MIN_RETENTION_MS = 61 * DAY_MS;

  constructor(
    private readonly store: StructureStore,
    private readonly options: StatisticsOptions,
  ) {}

  static key(metric: StatMetric, day: string): string {
    return `scoring:stats:${metric}:${day}`;
  }

  /** The writes recording these events: one PFADD per metric and day. */
  writes(events: readonly StatEvent[]): StructureWrite[] {
    const maxDays = Math.ceil(this.options.retentionMs / DAY_MS);
    const members = new Map<string, Set<string>>();
    for (const event of events) {
      const first = Math.floor(event.from / DAY_MS);
      const last = Math.min(Math.floor(Math.max(event.from, event.to) / DAY_MS), first + maxDays);
      for (let d = first; d <= last; d++) {
        const key = Statistics.key(event.metric, dayOf(d * DAY_MS));
        let set = members.get(key);
        if (!set) members.set(key, (set = new Set()));
        set.add(event.member);
      }
    }
    return [...members].map(([key, set]) => ({
      op: 'pfadd',
      key,
      members: [...set],
      ttlMs: this.options.retentionMs,
    }));
  }

  /** Distinct count of `metric` over the inclusive day range [from, to] (event times). */
  async distinct(metric: StatMetric, from: number, to: number): Promise<number> {
    return this.store.pfcount(daysBetween(from, to).map((day) => Statistics.key(metric, day)));
  }

  /** Per-day counts of every metric from `from` to `to` (event times, inclusive days). */
  async daily(from: number, to: number): Promise<DailyStats[]> {
    const days = daysBetween(from, to);
    return Promise.all(
      days.map(async (day) => {
        const counts = await Promise.all(
          STAT_METRICS.map((m) => this.store.pfcount([Statistics.key(m, day)])),
        );
        return {
          day,
          counts: Object.fromEntries(STAT_METRICS.map((m, i) => [m, counts[i]])) as Record<
            StatMetric,
            number
          >,
        };
      }),
    );
  }

  /** The last `days` days up to asOf's day against the `days` before them. */
  async compare(metric: StatMetric, asOf: number, days = 30): Promise<PeriodComparison> {
    const end = Math.floor(asOf / DAY_MS) * DAY_MS;
    const currentFrom = end - (days - 1) * DAY_MS;
    const previousTo = currentFrom - DAY_MS;
    const previousFrom = previousTo - (days - 1) * DAY_MS;
    const [current, previous] = await Promise.all([
      this.distinct(metric, currentFrom, end),
      this.distinct(metric, previousFrom, previousTo),
    ]);
    return {
      metric,
      current: { from: dayOf(currentFrom), to: dayOf(end), count: current },
      previous: { from: dayOf(previousFrom), to: dayOf(previousTo), count: previous },
      changePct: percentChange(current, previous),
    };
  }

  /** compare() for every metric. */
  async overview(asOf: number, days = 30): Promise<PeriodComparison[]> {
    return Promise.all(STAT_METRICS.map((m) => this.compare(m, asOf, days)));
  }
}

function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let d = Math.floor(from / DAY_MS); d <= Math.floor(to / DAY_MS); d++) {
    days.push(dayOf(d * DAY_MS));
  }
  return days;
}
