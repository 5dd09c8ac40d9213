/**
 * Follows moat.config.v1 live: a broadcast reader (every instance of every service reads every
 * entry, from the beginning) that keeps the latest valid entry per key and tells listeners
 * what changed. Any service that needs live configuration (profiles, manual decisions,
 * detector settings) uses one.
 *
 * Validation is two-step: the contract's schema (the error names the failing field, e.g.
 * `/profile/threshold must be <= 1`), then the service's own checks (`validate`), which return
 * the field and the reason. An entry that fails either is rejected: the entry in force for its
 * key stays in force, and the rejection is logged with the key and the field, counted
 * (`moat_config_rejected_total`) and handed to `onRejected` listeners. The follower does not
 * dead-letter: every instance reads the compacted log from the beginning at every start, so
 * each would copy the same entry to the DLQ again and again. A service that wants rejected
 * entries dead-lettered once also consumes the topic in a consumer group (scoring's
 * `scoring-config`); the admin path validates before it publishes.
 *
 * Start-up: `ready()` resolves once the follower has read up to the end offsets the topic had
 * when it started (or `catchUpTimeoutMs` passed, with a warning), so a service can wait for its
 * configuration before it processes anything. Compaction keeps only the latest entry per key:
 * a valid entry superseded by an invalid one can be gone after a restart, so fix a rejected
 * entry by publishing a valid one.
 */
import {
  codecs,
  configKey,
  type ConfigEntry,
  type ConfigKind,
  type ManualDecisionEntry,
  type ProfileEntry,
} from '@moat/contracts';
import type { Logger } from '@moat/observability';
import { KafkaBus } from './kafka/kafka-bus';
import { MemoryBus } from './memory/memory-bus';
import type { StreamRuntime } from './runtime';
import { backoffMs, sleep, type RawBatch, type RawMessage, type Subscription } from './transport';

/** What is wrong with an entry: the field (a JSON pointer, or `(key)`, `(value)`) and why. */
export interface ConfigProblem {
  field: string;
  reason: string;
}

export interface ConfigRejection extends ConfigProblem {
  key: string | null;
  partition: number;
  offset: string;
}

/** One key's change; `current` undefined means the entry was deleted. */
export interface ConfigChange {
  key: string;
  previous: ConfigEntry | undefined;
  current: ConfigEntry | undefined;
}

export interface ConfigFollowerOptions {
  runtime: StreamRuntime;
  /** Names the follower in logs, metrics, health and its consumer group. */
  service: string;
  /** Checks beyond the schema; return the problem, naming the field, or undefined. */
  validate?: (entry: ConfigEntry, key: string) => ConfigProblem | undefined;
  /** How long ready() waits for the end of the topic before it gives up waiting (default 15 s). */
  catchUpTimeoutMs?: number;
}

type ChangeListener = (changes: ConfigChange[]) => void;
type RejectionListener = (rejection: ConfigRejection) => void;

export class ConfigFollower {
  private readonly entries = new Map<string, ConfigEntry>();
  private readonly rejected = new Map<string, ConfigRejection>();
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly rejectionListeners = new Set<RejectionListener>();
  private readonly log: Logger;
  private readonly topic: string;
  /** partition -> offset that must be reached before the follower is caught up. */
  private pending = new Map<number, bigint>();
  private subscription?: Subscription;
  private caughtUp = false;
  private markReady!: () => void;
  private readonly readyPromise = new Promise<void>((resolve) => (this.markReady = resolve));
  private catchUpTimer?: NodeJS.Timeout;
  private connection: 'ready' | 'down' = 'down';

  constructor(private readonly options: ConfigFollowerOptions) {
    this.topic = options.runtime.topics.config;
    this.log = options.runtime.logger.child({ component: 'config-follower', topic: this.topic });
  }

  /** Subscribes (broadcast, from the beginning). Resolves once subscribed, not caught up. */
  async start(): Promise<void> {
    if (this.subscription) return;
    const { runtime, service } = this.options;
    const checkName = `config:${service}`;
    runtime.health.register(checkName, () => {
      if (!this.caughtUp) return { state: 'down', detail: 'reading configuration' };
      if (this.connection === 'down') return { state: 'degraded', detail: 'config reader down' };
      const detail = `${this.entries.size} entries, ${this.rejected.size} rejected`;
      return { state: 'ok', detail };
    });
    this.pending = await this.endOffsets();
    if (this.pending.size === 0) this.finishCatchUp();
    else {
      this.catchUpTimer = setTimeout(() => {
        this.log.warn(
          { partitions: [...this.pending.keys()] },
          'configuration not read to its end in time; continuing with the entries read so far',
        );
        this.finishCatchUp();
      }, this.options.catchUpTimeoutMs ?? 15_000);
      this.catchUpTimer.unref?.();
    }
    this.subscription = await runtime.bus.subscribe({
      groupId: `${service}.config`,
      topics: [this.topic],
      mode: 'broadcast',
      onBatch: async (batch) => this.onBatch(batch),
      onState: (state, detail) => {
        this.connection = state;
        this.log.info({ state, detail }, 'config reader state changed');
      },
    });
  }

  /** Resolves once the configuration present at start-up has been read. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  get isReady(): boolean {
    return this.caughtUp;
  }

  get(key: string): ConfigEntry | undefined {
    return this.entries.get(key);
  }

  /** Every entry in force, optionally of one kind. */
  all(kind?: ConfigKind): ConfigEntry[] {
    const list = [...this.entries.values()];
    return kind ? list.filter((e) => e.kind === kind) : list;
  }

  profiles(): ProfileEntry[] {
    return this.all('profile') as ProfileEntry[];
  }

  manualDecisions(): ManualDecisionEntry[] {
    return this.all('manual-decision') as ManualDecisionEntry[];
  }

  /** The latest rejection per key whose newest entry was rejected. */
  rejections(): ConfigRejection[] {
    return [...this.rejected.values()];
  }

  /** Called with every batch of changes, after the entries were updated. Returns an unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onRejected(listener: RejectionListener): () => void {
    this.rejectionListeners.add(listener);
    return () => this.rejectionListeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    await this.subscription?.stop();
    this.subscription = undefined;
    this.options.runtime.health.unregister(`config:${this.options.service}`);
  }

  /** Applies one batch. Never throws: a bad entry is rejected, a failing listener logged. */
  private async onBatch(batch: RawBatch): Promise<void> {
    const changes: ConfigChange[] = [];
    for (const message of batch.messages) {
      try {
        const change = this.apply(message);
        if (change) changes.push(change);
      } catch (err) {
        this.reject(message, null, { field: '(value)', reason: (err as Error).message });
      }
    }
    const { runtime, service } = this.options;
    runtime.metrics.consumed.inc({ service, topic: this.topic }, batch.messages.length);
    const gauge = runtime.metrics.gauge('moat_config_entries', 'Configuration entries in force', [
      'service',
      'kind',
    ]);
    gauge.set({ service, kind: 'profile' }, this.all('profile').length);
    gauge.set({ service, kind: 'manual-decision' }, this.all('manual-decision').length);
    if (changes.length > 0) {
      for (const listener of this.changeListeners) {
        try {
          listener(changes);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'config change listener failed');
        }
      }
    }
    this.advance(batch);
  }

  private apply(message: RawMessage): ConfigChange | undefined {
    const key = message.key?.toString('utf8') ?? null;
    if (key === null || key.length === 0) {
      this.reject(message, null, {
        field: '(key)',
        reason: 'a config entry needs a key: publish it under <kind>:<name>',
      });
      return undefined;
    }
    const decoded = codecs.config.decode(message.value);
    if (!decoded.ok) {
      this.reject(message, key, problemFromReason(decoded.reason));
      return undefined;
    }
    const previous = this.entries.get(key);
    if (decoded.value === null) {
      this.rejected.delete(key);
      if (!previous) return undefined;
      this.entries.delete(key);
      this.log.info({ key }, 'config entry deleted');
      return { key, previous, current: undefined };
    }
    const entry = decoded.value;
    const expected = configKey(entry);
    if (expected !== key) {
      this.reject(message, key, {
        field: '(key)',
        reason: `key "${key}" does not name this entry: publish it under "${expected}"`,
      });
      return undefined;
    }
    const problem = this.options.validate?.(entry, key);
    if (problem) {
      this.reject(message, key, problem);
      return undefined;
    }
    this.rejected.delete(key);
    if (previous && JSON.stringify(previous) === JSON.stringify(entry)) return undefined;
    this.entries.set(key, entry);
    this.log.info({ key, updatedAt: entry.updatedAt }, 'config entry in force');
    return { key, previous, current: entry };
  }

  private reject(message: RawMessage, key: string | null, problem: ConfigProblem): void {
    const rejection: ConfigRejection = {
      key,
      field: problem.field,
      reason: problem.reason,
      partition: message.partition,
      offset: message.offset,
    };
    if (key !== null) this.rejected.set(key, rejection);
    this.options.runtime.metrics
      .counter('moat_config_rejected_total', 'Configuration entries rejected as invalid', [
        'service',
      ])
      .inc({ service: this.options.service });
    this.log.warn(
      {
        key,
        field: problem.field,
        reason: problem.reason,
        partition: message.partition,
        offset: message.offset,
        kept: key !== null && this.entries.has(key),
      },
      `config entry ${key ?? '(no key)'} rejected: ${problem.reason.includes(problem.field) ? '' : `${problem.field}: `}${problem.reason}; the entry in force stays in force`,
    );
    for (const listener of this.rejectionListeners) {
      try {
        listener(rejection);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'config rejection listener failed');
      }
    }
  }

  private advance(batch: RawBatch): void {
    if (this.caughtUp) return;
    const target = this.pending.get(batch.partition);
    const last = batch.messages.at(-1);
    if (target !== undefined && last && (BigInt(last.offset) + 1n >= target || batch.lag === 0)) {
      this.pending.delete(batch.partition);
    }
    if (this.pending.size === 0) this.finishCatchUp();
  }

  private finishCatchUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    this.log.info(
      { entries: this.entries.size, rejected: this.rejected.size },
      'configuration read; following changes live',
    );
    this.markReady();
  }

  /** The offset after the last message of every non-empty partition, when the bus can tell. */
  private async endOffsets(): Promise<Map<number, bigint>> {
    const bus = this.options.runtime.bus;
    const ends = new Map<number, bigint>();
    if (bus instanceof KafkaBus) {
      // Right after the topic was created its leaders may not be known yet: retry a little.
      let highs: Map<number, string> | undefined;
      for (let attempt = 0; !highs; attempt++) {
        try {
          highs = await bus.endOffsets(this.topic);
        } catch (err) {
          if (attempt >= 8) {
            throw new Error(
              `cannot read the end offsets of ${this.topic} (${(err as Error).message}): is the broker up?`,
            );
          }
          await sleep(backoffMs(attempt));
        }
      }
      for (const [partition, high] of highs) {
        if (BigInt(high) > 0n) ends.set(partition, BigInt(high));
      }
    } else if (bus instanceof MemoryBus) {
      for (const m of bus.read(this.topic)) {
        const next = BigInt(m.offset) + 1n;
        if (next > (ends.get(m.partition) ?? 0n)) ends.set(m.partition, next);
      }
    }
    return ends;
  }
}

/** Splits the codec's "schema violation (config v1): /profile/threshold must be <= 1". */
function problemFromReason(reason: string): ConfigProblem {
  const match = /^schema violation \([^)]*\): (\S+) /.exec(reason);
  if (match) return { field: match[1], reason };
  return { field: '(value)', reason };
}
