/**
 * Keeps a DecisionIndex current with moat.decisions.v1 and says how current it is. Framework-
 * free: the node agent's Nest service and the in-process middleware both run one.
 *
 * - Start: load the snapshot from disk (provisional entries), then connect to the bus in the
 *   background — retrying with backoff for as long as it takes, never failing the process —
 *   and read the compacted topic from the beginning as a broadcast reader (every instance reads
 *   every partition, commits nothing).
 * - Caught up: once every partition was read up to the end offsets seen at subscription, the
 *   snapshot's entries that the topic did not re-state are dropped (a decision lifted while the
 *   agent was away, whose tombstone was compacted) and the agent is ready.
 * - Health: `ok` when caught up and following; `degraded` when enforcing the last known
 *   decisions (snapshot, or Kafka lost after catching up) or failing open with none; `down`
 *   only while a first read of a reachable topic is in progress with no snapshot to serve.
 * - Snapshot: written every `snapshotIntervalMs` when the index changed, and on stop.
 * - Expired entries are swept every `sweepIntervalMs`, in small steps.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@moat/observability';
import type { CheckState } from '@moat/observability';
import {
  createBatchPipeline,
  KafkaBus,
  MemoryBus,
  type RawBatch,
  type StreamRuntime,
  type Subscription,
} from '@moat/stream-kit';
import { CONFIRMED, DecisionIndex, PROVISIONAL } from './decision-index';
import { readSnapshot, writeSnapshot, type SnapshotInfo } from './decision-snapshot';

export interface DecisionFollowerOptions {
  runtime: StreamRuntime;
  index: DecisionIndex;
  /** Service name: consumer group stem, metrics label, health check name. */
  service: string;
  /** Snapshot file; undefined disables snapshots. */
  snapshotPath?: string;
  snapshotIntervalMs?: number;
  sweepIntervalMs?: number;
  /** How long to wait for a partition with nothing to deliver before calling it read. */
  catchUpIdleMs?: number;
  logger?: Logger;
  now?: () => number;
}

type BusState = 'connecting' | 'ready' | 'down';

export interface FollowerStatus {
  state: CheckState;
  detail: string;
  caughtUp: boolean;
  bus: BusState;
  decisions: number;
  snapshot?: SnapshotInfo;
}

export class DecisionFollower {
  private readonly runtime: StreamRuntime;
  private readonly index: DecisionIndex;
  private readonly log: Logger;
  private readonly now: () => number;
  private subscription?: Subscription;
  private stopped = false;
  private connecting?: Promise<void>;
  /** Ends a retry back-off early (stop). */
  private wake?: () => void;
  private bus: BusState = 'connecting';
  private busDetail = 'connecting to Kafka';
  private busFailures = 0;
  private caughtUp = false;
  private catchUp?: { pending: Map<number, bigint>; startedAt: number; lastProgress: number };
  private loadedSnapshot?: SnapshotInfo;
  private lastSnapshot?: SnapshotInfo;
  private writtenVersion = -1;
  private writing?: Promise<void>;
  /** Snapshot writes by result, for metrics. */
  readonly snapshotWrites = { ok: 0, error: 0 };
  private timers: NodeJS.Timeout[] = [];
  private sweeping = false;
  private degradedSince?: number;
  private degradedMs = 0;
  private readonly propagation: Histogram<'service'>;

  constructor(private readonly options: DecisionFollowerOptions) {
    this.runtime = options.runtime;
    this.index = options.index;
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? options.runtime.logger).child({ component: 'decision-follower' });
    this.propagation = registerFollowerMetrics(
      this.runtime.metrics.registry,
      options.service,
      this,
    );
  }

  /** Loads the snapshot, then follows the topic in the background. Never throws for Kafka. */
  async start(): Promise<void> {
    const { snapshotPath } = this.options;
    if (snapshotPath) {
      const started = performance.now();
      try {
        this.loadedSnapshot = await readSnapshot(snapshotPath, this.index, {
          now: this.now(),
          generation: PROVISIONAL,
        });
        if (this.loadedSnapshot) {
          this.writtenVersion = this.index.version;
          this.log.info(
            {
              path: snapshotPath,
              entries: this.loadedSnapshot.entries,
              writtenAt: new Date(this.loadedSnapshot.writtenAt).toISOString(),
              ms: Math.round(performance.now() - started),
            },
            'decision snapshot loaded: enforcing it until the decisions topic is read',
          );
        } else {
          this.log.info({ path: snapshotPath }, 'no decision snapshot yet');
        }
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'decision snapshot not loaded');
      }
    }
    this.noteHealth();
    this.connecting = this.connectLoop();
    const snapshotMs = this.options.snapshotIntervalMs ?? 30_000;
    if (snapshotPath && snapshotMs > 0) {
      this.timers.push(setInterval(() => void this.writeSnapshot(), snapshotMs).unref());
    }
    const sweepMs = this.options.sweepIntervalMs ?? 60_000;
    if (sweepMs > 0) this.timers.push(setInterval(() => this.sweep(), sweepMs).unref());
    this.timers.push(setInterval(() => this.noteHealth(), 1000).unref());
  }

  /** Stops following, then writes a last snapshot. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.wake?.();
    // A connection attempt in flight is abandoned (the runtime's close ends it), not awaited.
    await Promise.race([
      this.connecting?.catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    await this.subscription?.stop();
    this.subscription = undefined;
    await this.writeSnapshot();
  }

  status(): FollowerStatus {
    const decisions = this.index.size;
    const snapshot = this.loadedSnapshot;
    const since = (at: number) => new Date(at).toISOString();
    const base = {
      caughtUp: this.caughtUp,
      bus: this.bus,
      decisions,
      snapshot: this.lastSnapshot ?? snapshot,
    };
    if (this.caughtUp && this.bus === 'ready') {
      return {
        ...base,
        state: 'ok',
        detail: `following the decisions topic: ${decisions} decisions`,
      };
    }
    if (this.caughtUp) {
      return {
        ...base,
        state: 'degraded',
        detail: `Kafka unavailable (${this.busDetail}): enforcing the ${decisions} last known decisions`,
      };
    }
    const reading =
      this.bus === 'ready'
        ? 'reading the decisions topic'
        : this.bus === 'connecting'
          ? 'connecting to Kafka'
          : `Kafka unavailable (${this.busDetail})`;
    if (snapshot) {
      return {
        ...base,
        state: 'degraded',
        detail: `${reading}: enforcing the snapshot of ${since(snapshot.writtenAt)} (${decisions} decisions)`,
      };
    }
    if (this.busFailures > 0 || this.bus === 'down') {
      return {
        ...base,
        state: 'degraded',
        detail: `${reading}; no snapshot: failing open with ${decisions} decisions known`,
      };
    }
    return {
      ...base,
      state: 'down',
      detail: `${reading}: not caught up yet (${decisions} decisions)`,
    };
  }

  /** Milliseconds spent degraded so far (metrics). */
  degradedMilliseconds(): number {
    return (
      this.degradedMs + (this.degradedSince !== undefined ? this.now() - this.degradedSince : 0)
    );
  }

  indexCounts(): Record<string, number> {
    return this.index.countByAction();
  }

  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** Resolves when the topic has been read up to its end offsets at subscription. */
  async waitUntilCaughtUp(timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!this.caughtUp) {
      if (this.now() > deadline)
        throw new Error(`not caught up after ${timeoutMs} ms: ${this.status().detail}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Writes the snapshot now if the index changed since the last write. */
  async writeSnapshot(): Promise<void> {
    const path = this.options.snapshotPath;
    if (!path || this.index.version === this.writtenVersion) return;
    if (this.writing) return this.writing;
    const version = this.index.version;
    this.writing = (async () => {
      const started = performance.now();
      try {
        this.lastSnapshot = await writeSnapshot(path, this.index, {
          topic: this.runtime.topics.decisions,
          now: this.now(),
        });
        this.writtenVersion = version;
        this.snapshotWrites.ok++;
        this.log.debug(
          { path, entries: this.lastSnapshot.entries, ms: Math.round(performance.now() - started) },
          'decision snapshot written',
        );
      } catch (err) {
        this.snapshotWrites.error++;
        this.log.warn({ err: (err as Error).message }, 'decision snapshot not written');
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.runtime.start();
        if (this.stopped) return;
        await this.subscribe();
        if (this.stopped) {
          // stop() gave up waiting for this attempt: do not leave a consumer behind.
          await this.subscription?.stop();
          this.subscription = undefined;
        }
        return;
      } catch (err) {
        this.busFailures++;
        this.bus = 'down';
        this.busDetail = (err as Error).message;
        this.noteHealth();
        const waitMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        this.log.warn(
          { err: (err as Error).message, retryInMs: waitMs, decisions: this.index.size },
          'cannot follow the decisions topic yet: enforcing the last known decisions, retrying',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async subscribe(): Promise<void> {
    const topic = this.runtime.topics.decisions;
    const ends = await endOffsets(this.runtime, topic);
    const pending = new Map<number, bigint>();
    for (const [partition, end] of ends) if (end > 0n) pending.set(partition, end);
    this.catchUp = { pending, startedAt: this.now(), lastProgress: this.now() };
    this.log.info(
      {
        topic,
        partitions: ends.size,
        toRead: [...pending.values()].reduce((a, b) => a + b, 0n).toString(),
      },
      'reading the decisions topic from the beginning',
    );
    this.checkCaughtUp();
    const service = this.options.service;
    const pipeline = createBatchPipeline({
      service,
      input: 'decisions',
      topics: this.runtime.topics,
      producer: this.runtime.bus.producer(),
      metrics: this.runtime.metrics,
      handler: async (records) => {
        const now = this.now();
        for (const record of records) {
          if (record.key === null) continue;
          if (!this.index.apply(record.key, record.value, CONFIRMED)) {
            this.log.warn(
              { key: record.key, offset: record.offset },
              'decision key is not an IP or CIDR: ignored',
            );
            continue;
          }
          if (this.caughtUp && record.timestamp > 0) {
            this.propagation.observe({ service }, Math.max(0, now - record.timestamp) / 1000);
          }
        }
      },
    });
    this.subscription = await this.runtime.bus.subscribe({
      groupId: service,
      topics: [topic],
      mode: 'broadcast',
      onBatch: async (batch: RawBatch) => {
        await pipeline(batch);
        this.progress(batch);
      },
      onState: (state, detail) => {
        this.bus = state === 'ready' ? 'ready' : 'down';
        this.busDetail = detail ?? state;
        this.log.info({ state, detail }, 'decisions consumer state changed');
        this.noteHealth();
      },
      onRetry: (error, attempt) =>
        this.log.warn({ err: error.message, attempt }, 'decision batch failed; it will be retried'),
    });
  }

  private progress(batch: RawBatch): void {
    const catchUp = this.catchUp;
    if (!catchUp || this.caughtUp || batch.messages.length === 0) return;
    catchUp.lastProgress = this.now();
    const end = catchUp.pending.get(batch.partition);
    const last = BigInt(batch.messages[batch.messages.length - 1].offset);
    if (end !== undefined && (last >= end - 1n || batch.lag === 0))
      catchUp.pending.delete(batch.partition);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    const catchUp = this.catchUp;
    if (!catchUp || this.caughtUp) return;
    const idleMs = this.options.catchUpIdleMs ?? 15_000;
    const idle = this.bus === 'ready' && this.now() - catchUp.lastProgress > idleMs;
    if (catchUp.pending.size > 0 && !idle) return;
    if (catchUp.pending.size > 0) {
      this.log.warn(
        { partitions: [...catchUp.pending.keys()] },
        `no records from these partitions for ${idleMs} ms: treating the topic as read`,
      );
    }
    this.caughtUp = true;
    let dropped = 0;
    if (this.loadedSnapshot) dropped = DecisionIndex.drain(this.index.dropGeneration(PROVISIONAL));
    this.log.info(
      {
        decisions: this.index.size,
        ms: this.now() - catchUp.startedAt,
        droppedFromSnapshot: dropped,
      },
      'caught up with the decisions topic',
    );
    this.noteHealth();
    void this.writeSnapshot();
  }

  private sweep(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    const sweep = this.index.sweepExpired(this.now());
    const step = () => {
      const next = sweep.next();
      if (next.done) {
        this.sweeping = false;
        if (next.value > 0) this.log.debug({ removed: next.value }, 'expired decisions swept');
        return;
      }
      setImmediate(step);
    };
    step();
  }

  /** Tracks time spent degraded and re-evaluates the idle catch-up rule. */
  private noteHealth(): void {
    this.checkCaughtUp();
    const degraded = this.status().state !== 'ok';
    const now = this.now();
    if (degraded && this.degradedSince === undefined) this.degradedSince = now;
    if (!degraded && this.degradedSince !== undefined) {
      this.degradedMs += now - this.degradedSince;
      this.degradedSince = undefined;
    }
  }
}

/** End offset of every partition of `topic`, on Kafka and on the in-memory bus. */
async function endOffsets(runtime: StreamRuntime, topic: string): Promise<Map<number, bigint>> {
  const bus = runtime.bus;
  if (bus instanceof KafkaBus) {
    const offsets = await bus.endOffsets(topic);
    return new Map([...offsets].map(([p, o]) => [p, BigInt(o)]));
  }
  if (bus instanceof MemoryBus) {
    const ends = new Map<number, bigint>();
    for (const m of bus.read(topic)) {
      const next = BigInt(m.offset) + 1n;
      if (next > (ends.get(m.partition) ?? 0n)) ends.set(m.partition, next);
    }
    return ends;
  }
  throw new Error(`cannot read end offsets from a ${(bus as { kind: string }).kind} bus`);
}

/** The follower's metrics, read from its state at scrape time (nothing on the hot path). */
function registerFollowerMetrics(
  registry: Registry,
  service: string,
  follower: DecisionFollower,
): Histogram<'service'> {
  const fresh = (name: string) => {
    registry.removeSingleMetric(name);
    return name;
  };
  new Gauge({
    name: fresh('moat_node_agent_decisions'),
    help: 'Decisions held in the index, by action (expired ones until the sweep reclaims them)',
    labelNames: ['service', 'action'],
    registers: [registry],
    collect() {
      for (const [action, n] of Object.entries(follower.indexCounts()))
        this.set({ service, action }, n);
    },
  });
  new Gauge({
    name: fresh('moat_node_agent_degraded'),
    help: '1 while the agent enforces last known decisions (snapshot, Kafka away) or fails open',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.set({ service }, follower.status().state === 'ok' ? 0 : 1);
    },
  });
  let reportedDegradedMs = 0;
  new Counter({
    name: fresh('moat_node_agent_degraded_seconds_total'),
    help: 'Time spent degraded (enforcing last known decisions or failing open)',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      const ms = follower.degradedMilliseconds();
      this.inc({ service }, Math.max(0, ms - reportedDegradedMs) / 1000);
      reportedDegradedMs = Math.max(ms, reportedDegradedMs);
    },
  });
  new Gauge({
    name: fresh('moat_node_agent_caught_up'),
    help: '1 once the decisions topic was read up to its end offsets at subscription',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.set({ service }, follower.isCaughtUp ? 1 : 0);
    },
  });
  new Gauge({
    name: fresh('moat_node_agent_kafka_up'),
    help: '1 while the decisions consumer is joined and fetching',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.set({ service }, follower.status().bus === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: fresh('moat_node_agent_snapshot_age_seconds'),
    help: 'Age of the snapshot on disk (the last one written or loaded)',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      const snapshot = follower.status().snapshot;
      if (snapshot) this.set({ service }, Math.max(0, Date.now() - snapshot.writtenAt) / 1000);
    },
  });
  const writes = { ok: 0, error: 0 };
  new Counter({
    name: fresh('moat_node_agent_snapshot_writes_total'),
    help: 'Snapshot writes by result',
    labelNames: ['service', 'result'],
    registers: [registry],
    collect() {
      for (const result of ['ok', 'error'] as const) {
        const delta = follower.snapshotWrites[result] - writes[result];
        this.inc({ service, result }, delta);
        writes[result] = follower.snapshotWrites[result];
      }
    },
  });
  return new Histogram({
    name: fresh('moat_node_agent_decision_propagation_seconds'),
    help: 'From a decision record’s Kafka timestamp to the agent enforcing it (after catch-up)',
    labelNames: ['service'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30],
    registers: [registry],
  });
}
