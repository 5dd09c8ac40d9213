// The sessionizer on simulated traffic; here rather than in sessionizer-service, which the
// simulator itself depends on (a spec there importing the simulator would close a cycle).
import {
  codecs,
  topicNames,
  type RequestRecord,
  type SessionEvent,
  type SessionRequest,
} from '@moat/contracts';
import { population, simulate, toRequestRecords } from './index';
import {
  Emitter,
  MemoryStateStore,
  type BatchContext,
  type BatchHandler,
  type InRecord,
} from '@moat/stream-kit';
import { sessionizerHandler, sessionizerStages } from '@moat/sessionizer-service';

const topics = topicNames('unit');
const HOUR = 3_600_000;

interface Run {
  events: SessionEvent[];
  forwarded: SessionRequest[];
  dead: string[];
}

/** Runs one batch through a handler as the pipeline would (outputs, then persist). */
async function batch<T>(handler: BatchHandler<T>, records: InRecord<T>[]): Promise<Run> {
  const out = new Emitter(topics);
  const dead: string[] = [];
  const ctx: BatchContext = { out, deadLetter: (_r, reason) => dead.push(reason) };
  const outcome = await handler(records, ctx);
  await outcome?.persist?.();
  const run: Run = { events: [], forwarded: [], dead };
  for (const m of out.drain()) {
    if (m.topic === topics.events) run.events.push(JSON.parse(m.value!.toString()) as SessionEvent);
    if (m.topic === topics.sessionRequests) {
      const decoded = codecs.sessionRequests.decode(m.value);
      if (!decoded.ok || !decoded.value) throw new Error('invalid forward');
      expect(m.key).toBe(decoded.value.sessionKey);
      run.forwarded.push(decoded.value);
    }
  }
  return run;
}

function partitioned(records: RequestRecord[], partitions = 4): InRecord<RequestRecord>[][] {
  const byPartition: InRecord<RequestRecord>[][] = Array.from({ length: partitions }, () => []);
  for (const value of records) {
    const p = [...value.ip].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % partitions;
    byPartition[p].push({
      topic: topics.requests,
      partition: p,
      offset: String(byPartition[p].length),
      key: value.ip,
      value,
      timestamp: value.ts,
    });
  }
  return byPartition;
}

function asRekeyed(forwarded: SessionRequest[], from = 0): InRecord<SessionRequest>[] {
  return forwarded.map((value, i) => ({
    topic: topics.sessionRequests,
    partition: 0,
    offset: String(from + i),
    key: value.sessionKey,
    value,
    timestamp: value.request.ts,
  }));
}

/** The last event of every session id, as (id → request count). */
function sessions(events: SessionEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events)
    counts.set(e.sessionId, Math.max(counts.get(e.sessionId) ?? 0, e.session.requestCount));
  return counts;
}

describe('sessionizer stages', () => {
  const options = population(31, {
    humans: 60,
    botsPerScenario: 1,
    spoof: false,
    durationMs: HOUR,
  });
  options.bots = options.bots.filter((b) =>
    ['ip-rotation', 'credential-stuffing', 'scanner-paths'].includes(b.scenario),
  );
  const records = [...toRequestRecords(simulate(options), 'stage-test-secret-0123')].map(
    (r) => r.record,
  );

  it('re-keys credential sessions and builds the same sessions as one process would', async () => {
    const single = await batch(
      sessionizerHandler({}, new MemoryStateStore()),
      partitioned(records, 1)[0],
    );
    const store = new MemoryStateStore();
    const stages = sessionizerStages({}, store);
    const events: SessionEvent[] = [];
    const forwarded: SessionRequest[] = [];
    // Partitions processed one after the other, as replicas owning them might.
    for (const part of partitioned(records)) {
      const run = await batch(stages.requests, part);
      events.push(...run.events);
      forwarded.push(...run.forwarded);
    }
    expect(forwarded.length).toBeGreaterThan(100);
    expect(events.every((e) => e.sessionKeyKind === 'fingerprint')).toBe(true);
    expect(forwarded.every((f) => f.sessionKey.startsWith('c:'))).toBe(true);
    const second = await batch(
      stages.sessionRequests,
      asRekeyed(forwarded.sort((a, b) => a.request.ts - b.request.ts)),
    );
    events.push(...second.events);
    expect(events).toHaveLength(records.length);
    expect(new Set(events.map((e) => e.request.id))).toEqual(new Set(records.map((r) => r.id)));
    expect(sessions(events)).toEqual(sessions(single.events));
  });

  it('applies a request forwarded twice once (a replica died before committing)', async () => {
    const stages = sessionizerStages({}, new MemoryStateStore());
    const { forwarded } = await batch(stages.requests, partitioned(records, 1)[0]);
    const first = await batch(stages.sessionRequests, asRekeyed(forwarded));
    // The same requests again, at later offsets of the re-keyed topic.
    const again = await batch(stages.sessionRequests, asRekeyed(forwarded, forwarded.length));
    expect(first.events).toHaveLength(forwarded.length);
    expect(again.events).toHaveLength(0);
    // And a redelivered re-keyed batch (this stage died before committing) is skipped too.
    const redelivered = await batch(stages.sessionRequests, asRekeyed(forwarded));
    expect(redelivered.events).toHaveLength(0);
  });

  it('shares learned route templates between replicas through the store', async () => {
    const store = new MemoryStateStore();
    const wishlists = Array.from({ length: 450 }, (_, i) => ({
      ...records[0],
      id: `w${i}`,
      ts: records[0].ts + i,
      path: `/api/users/handle_${i}x/wishlist`,
      status: 200,
      credentials: [],
    }));
    const first = await batch(sessionizerStages({}, store).requests, partitioned(wishlists, 1)[0]);
    expect(first.events[0].route).toBe('/api/users/handle_0x/wishlist');
    expect(first.events[449].route).toBe('/api/users/{param}/wishlist');
    // Another replica, fresh memory, same store: templated from its first request.
    const other = await batch(
      sessionizerStages({}, store).requests,
      partitioned([{ ...wishlists[0], id: 'z', ip: '198.51.100.99' }], 1)[0],
    );
    expect(other.events[0].route).toBe('/api/users/{param}/wishlist');
  });
});
