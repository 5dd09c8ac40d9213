import {
  topicNames,
  type Decision,
  type DetectorId,
  type ManualDecisionEntry,
  type Vote,
} from '@moat/contracts';
import {
  Emitter,
  MemoryStateStore,
  MemoryStructureStore,
  type BatchOutcome,
  type InRecord,
} from '@moat/stream-kit';
import { ScoringPolicy } from './policy';
import { DEFAULT_PROFILE } from './profiles';
import { BotRegistry } from './registry';
import { ScoreProcessor } from './score.processor';
import { scoringHandler, timersKey } from './scoring.handler';
import { DAY_MS, Statistics } from './statistics';

const topics = topicNames('unit');
const T = 1_764_000_000_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const IP = '203.0.113.7';

function vote(
  ts: number,
  ip = IP,
  verdict: 'bot' | 'clean' = 'bot',
  detector: DetectorId = 'request-rate',
): Vote {
  return {
    v: 1,
    id: `${detector}:${ip}:${ts}`,
    detector,
    ts,
    app: 'shop.example',
    ip,
    verdict,
    score: verdict === 'bot' ? 1 : 0,
    evidence: [],
    eventId: `e-${ip}-${ts}`,
  };
}

/** The scoring handler over in-memory stores, fed batches as the pipeline would. */
function harness() {
  const store = new MemoryStateStore();
  const structures = new MemoryStructureStore();
  const processor = new ScoreProcessor({
    profiles: [DEFAULT_PROFILE],
    verdictHorizonMs: HOUR,
    sideOutputs: true,
  });
  const registry = new BotRegistry(structures, { retentionMs: 30 * DAY_MS, maxBots: 1000 });
  const statistics = new Statistics(structures, { retentionMs: 70 * DAY_MS });
  const deletedConfig: string[] = [];
  const make = () =>
    scoringHandler({
      processor,
      store,
      structures,
      registry,
      statistics,
      deleteConfig: async (keys) => {
        deletedConfig.push(...keys);
      },
    });
  let handler = make();
  const offsets = new Map<number, number>();

  /** Processes one batch; `persist: false` is a crash before the state was written. */
  async function batch(
    partition: number,
    votes: Vote[],
    options: { persist?: boolean; from?: number } = {},
  ) {
    let offset = options.from ?? offsets.get(partition) ?? 0;
    const records: InRecord<Vote>[] = votes.map((value) => ({
      topic: 'unit.votes.v1',
      partition,
      offset: String(offset++),
      key: value.ip,
      value,
      timestamp: 0,
    }));
    const out = new Emitter(topics);
    const outcome = (await handler(records, { out, deadLetter: () => undefined })) as BatchOutcome;
    const messages = out.drain();
    if (options.persist !== false) {
      await outcome.persist?.();
      offsets.set(partition, offset);
    }
    return messages.map((m) => ({
      key: m.key,
      decision: m.value === null ? null : (JSON.parse(m.value.toString()) as Decision),
    }));
  }
  const tombstones = (out: Awaited<ReturnType<typeof batch>>) =>
    out.filter((m) => m.decision === null).map((m) => m.key);
  const decisions = (out: Awaited<ReturnType<typeof batch>>) =>
    out.filter((m) => m.decision !== null).map((m) => m.decision!);

  return {
    batch,
    tombstones,
    decisions,
    processor,
    structures,
    registry,
    statistics,
    deletedConfig,
    restart: () => (handler = make()),
  };
}

describe('scoring handler: expiry in event time', () => {
  it('lifts a decision once the stream time of its partition passes its expiry, not before', async () => {
    const h = harness();
    expect(h.decisions(await h.batch(0, [vote(T)]))).toHaveLength(1);
    expect(h.tombstones(await h.batch(0, [vote(T + HOUR - 1, '198.51.100.1', 'clean')]))).toEqual(
      [],
    );
    expect(h.tombstones(await h.batch(0, [vote(T + HOUR, '198.51.100.1', 'clean')]))).toEqual([IP]);
    expect(await h.structures.zcard(timersKey(0))).toBe(0);
    expect(h.tombstones(await h.batch(0, [vote(T + 2 * HOUR, '198.51.100.1', 'clean')]))).toEqual(
      [],
    );
  });

  it('extends a repeat offender without a storm of duplicates, and lifts it once, at its final expiry', async () => {
    const h = harness();
    const published: Decision[] = [];
    const lifted: (string | null)[] = [];
    // One bot vote per second for an hour, in batches of 100.
    for (let s = 0; s < 3600; s += 100) {
      const out = await h.batch(
        0,
        Array.from({ length: 100 }, (_, i) => vote(T + (s + i) * 1000)),
      );
      published.push(...h.decisions(out));
      lifted.push(...h.tombstones(out));
    }
    // The expiry moves by at least a tenth of the hour per publication: 10 in an hour.
    expect(published.map((d) => (d.expiresAt - T - HOUR) / 1000)).toEqual([
      0, 360, 720, 1080, 1440, 1800, 2160, 2520, 2880, 3240,
    ]);
    expect(new Set(published.map((d) => d.createdAt))).toEqual(new Set([T]));
    expect(lifted).toEqual([]);
    const finalExpiry = published.at(-1)!.expiresAt;
    const quiet = '198.51.100.1';
    expect(h.tombstones(await h.batch(0, [vote(finalExpiry - 1, quiet, 'clean')]))).toEqual([]);
    expect(h.tombstones(await h.batch(0, [vote(finalExpiry, quiet, 'clean')]))).toEqual([IP]);
    expect(h.tombstones(await h.batch(0, [vote(finalExpiry + HOUR, quiet, 'clean')]))).toEqual([]);
  });

  it('does not lift the new decision of a subject that offends again the moment its decision expires', async () => {
    const h = harness();
    await h.batch(0, [vote(T)]);
    const out = await h.batch(0, [vote(T + HOUR)]);
    expect(out.map((m) => [m.key, m.decision?.createdAt ?? null])).toEqual([[IP, T + HOUR]]);
    expect(await h.structures.zrangeByScore(timersKey(0), 0, Infinity, 10)).toEqual([
      { member: IP, score: T + 2 * HOUR },
    ]);
  });

  it('keeps the decisions of an idle partition until its own stream time moves', async () => {
    const h = harness();
    await h.batch(0, [vote(T)]);
    expect(h.tombstones(await h.batch(1, [vote(T + 5 * HOUR, '198.51.100.1', 'clean')]))).toEqual(
      [],
    );
    expect(h.tombstones(await h.batch(0, [vote(T + 5 * HOUR, '198.51.100.2', 'clean')]))).toEqual([
      IP,
    ]);
  });

  it('lifts in the same batch a decision a late vote made that is already past in stream time, even after a restart', async () => {
    const h = harness();
    await h.batch(0, [vote(T + 3 * HOUR, '198.51.100.1', 'clean')]);
    h.restart(); // the stream time was persisted
    const out = await h.batch(0, [vote(T)]);
    expect(out.map((m) => [m.key, m.decision?.action ?? null])).toEqual([
      [IP, 'deny'],
      [IP, null],
    ]);
  });

  it('does not lift a decision whose key a manual entry took over', async () => {
    const h = harness();
    await h.batch(0, [vote(T)]);
    const manual: ManualDecisionEntry = {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T + MIN,
      subject: IP,
      action: 'deny',
    };
    h.processor.setPolicy(new ScoringPolicy({ profiles: [DEFAULT_PROFILE], manual: [manual] }));
    expect(h.tombstones(await h.batch(0, [vote(T + 2 * HOUR, '198.51.100.1', 'clean')]))).toEqual(
      [],
    );
    expect(await h.structures.zcard(timersKey(0))).toBe(0);
  });

  it('lifts a manual entry past its expiry in stream time and deletes it from the configuration, once', async () => {
    const h = harness();
    const expiring: ManualDecisionEntry = {
      v: 1,
      kind: 'manual-decision',
      updatedAt: T,
      subject: '198.51.100.0/24',
      action: 'deny',
      expiresAt: T + 10 * MIN,
    };
    h.processor.setPolicy(new ScoringPolicy({ profiles: [DEFAULT_PROFILE], manual: [expiring] }));
    expect(h.tombstones(await h.batch(0, [vote(T + 5 * MIN, IP, 'clean')]))).toEqual([]);
    expect(h.tombstones(await h.batch(2, [vote(T + 10 * MIN, IP, 'clean')]))).toEqual([
      '198.51.100.0/24',
    ]);
    expect(h.deletedConfig).toEqual(['manual-decision:198.51.100.0/24']);
    // Until the deletion comes back through the config follower, it is not lifted again.
    expect(h.tombstones(await h.batch(0, [vote(T + 11 * MIN, IP, 'clean')]))).toEqual([]);
  });
});

describe('scoring handler: persistence', () => {
  it('writes the same result when a batch is processed again after a crash', async () => {
    const h = harness();
    const votes = [vote(T), vote(T + 1000, IP, 'bot', 'wide-scope'), vote(T + 2000, '2001:db8::9')];
    const crashed = await h.batch(0, votes, { persist: false });
    const again = await h.batch(0, votes);
    expect(again).toEqual(crashed);
    const record = await h.registry.get(IP);
    expect(record).toMatchObject({ votes: 2, requests: 1, detectedAt: T });
    // Redelivered after the state was written (crash before the commit): nothing again.
    expect(await h.batch(0, votes, { from: 0 })).toEqual([]);
    expect(await h.registry.get(IP)).toEqual(record);
  });

  it('records the bots and the day statistics the batch produced', async () => {
    const h = harness();
    await h.batch(0, [vote(T), vote(T, '2001:db8::9'), vote(T, '198.51.100.1', 'clean')]);
    const { total, bots } = await h.registry.list();
    expect(total).toBe(2);
    expect(bots.map((b) => b.subject).sort()).toEqual(['2001:db8::9', IP]);
    const denied = await h.statistics.compare('denylisted', T);
    expect(denied.current.count).toBe(2);
    expect(await h.statistics.distinct('bots:scraping', T, T)).toBe(2);
    expect(await h.statistics.distinct('bots:account-takeover', T, T)).toBe(0);
  });
});
