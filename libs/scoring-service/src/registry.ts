/**
 * The bots registry: every detected bot (by subject IP) with its sessions, first and last
 * activity, requests judged, bot types, confidence and each detector's contribution with its
 * evidence, and the decision in force. One JSON record per bot that expires `retentionMs`
 * after its last update, plus an index by last activity (event time) capped at `maxBots` and
 * trimmed to the retention, so the registry stays bounded however many bots pass.
 *
 * Records are written from the score processor's snapshots. The processor's state for a
 * subject expires after a few hours of silence; when the bot returns, its new state starts
 * from zero, so a snapshot of a new state incarnation (another `epoch`) is added to what the
 * record already counted (`base`). A snapshot of the same incarnation replaces the counts,
 * which keeps a write repeated after a crash idempotent.
 */
import type { BotType } from '@moat/contracts';
import type { StructureStore, StructureWrite } from '@moat/stream-kit';
import type { BotSnapshot } from './score.processor';

export interface BotTotals {
  /** Absent when nothing was carried over. */
  firstSeen?: number;
  detectedAt?: number;
  requests: number;
  votes: number;
  sessions: number;
  botTypes: BotType[];
}

export interface BotRecord extends BotSnapshot {
  /** What earlier state incarnations counted; the record's totals include it. */
  base: BotTotals;
}

export interface RegistryOptions {
  /** How long a bot is kept after its last activity. */
  retentionMs: number;
  /** Most bots kept (the least recently active go first). */
  maxBots: number;
}

const ZERO: BotTotals = {
  requests: 0,
  votes: 0,
  sessions: 0,
  botTypes: [],
};

/** The record after a snapshot, given the stored one. Pure. */
export function mergeBotRecord(stored: BotRecord | undefined, snap: BotSnapshot): BotRecord {
  let base: BotTotals;
  if (!stored) base = ZERO;
  else if (stored.epoch === snap.epoch) base = stored.base;
  else {
    base = {
      firstSeen: stored.firstSeen,
      detectedAt: stored.detectedAt,
      requests: stored.requests,
      votes: stored.votes,
      sessions: stored.sessions,
      botTypes: stored.botTypes,
    };
  }
  return {
    ...snap,
    firstSeen: Math.min(base.firstSeen ?? snap.firstSeen, snap.firstSeen),
    detectedAt: Math.min(base.detectedAt ?? snap.detectedAt, snap.detectedAt),
    lastSeen: Math.max(stored?.lastSeen ?? snap.lastSeen, snap.lastSeen),
    requests: base.requests + snap.requests,
    votes: base.votes + snap.votes,
    sessions: base.sessions + snap.sessions,
    botTypes: [...new Set([...base.botTypes, ...snap.botTypes])],
    base,
  };
}

export class BotRegistry {
  static readonly INDEX = 'scoring:registry:bots';

  constructor(
    private readonly store: StructureStore,
    private readonly options: RegistryOptions,
  ) {}

  static recordKey(subject: string): string {
    return `scoring:registry:bot:${subject}`;
  }

  /** Reads what is stored for these bots and returns the writes that record the snapshots. */
  async prepare(snapshots: readonly BotSnapshot[]): Promise<StructureWrite[]> {
    if (snapshots.length === 0) return [];
    const stored = await this.store.get(snapshots.map((s) => BotRegistry.recordKey(s.subject)));
    const writes: StructureWrite[] = [];
    let newest = 0;
    snapshots.forEach((snap, i) => {
      const record = mergeBotRecord(parseRecord(stored[i]), snap);
      newest = Math.max(newest, record.lastSeen);
      writes.push({
        op: 'set',
        key: BotRegistry.recordKey(snap.subject),
        value: JSON.stringify(record),
        ttlMs: this.options.retentionMs,
      });
    });
    writes.push(
      {
        op: 'zadd',
        key: BotRegistry.INDEX,
        members: snapshots.map((s) => ({ member: s.subject, score: s.lastSeen })),
        ttlMs: this.options.retentionMs,
      },
      { op: 'zremBelow', key: BotRegistry.INDEX, score: newest - this.options.retentionMs },
      { op: 'zcap', key: BotRegistry.INDEX, max: this.options.maxBots },
    );
    return writes;
  }

  async get(subject: string): Promise<BotRecord | undefined> {
    const [raw] = await this.store.get([BotRegistry.recordKey(subject)]);
    return parseRecord(raw);
  }

  /** Bots by last activity, most recent first. */
  async list(offset = 0, limit = 50): Promise<{ total: number; bots: BotRecord[] }> {
    const [total, page] = await Promise.all([
      this.store.zcard(BotRegistry.INDEX),
      this.store.zrevRange(BotRegistry.INDEX, offset, limit),
    ]);
    const raw = await this.store.get(page.map((m) => BotRegistry.recordKey(m.member)));
    const bots = raw.map(parseRecord).filter((r): r is BotRecord => r !== undefined);
    return { total, bots };
  }
}

function parseRecord(raw: string | null | undefined): BotRecord | undefined {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as BotRecord;
    return parsed && typeof parsed === 'object' && 'epoch' in parsed ? parsed : undefined;
  } catch {
    return undefined; // an unreadable record is replaced, not fatal
  }
}
