/**
 * For running the services' batch handlers in one process without a bus — what `moat replay`
 * and backtests do to push a recorded log through the very handlers the services run, at full
 * speed and in event time:
 *
 * - CollectingEmitter: the handlers' outputs are validated against their contract exactly as on
 *   the bus (an invalid one throws, and the input is dead-lettered), but kept as values: nothing
 *   is encoded to bytes and decoded again by the next stage. A `context` set by the caller is
 *   attached to each output (to know which input caused it).
 * - EventClock: event time as far as a replay has got, for the stores' TTLs (their
 *   garbage-collection horizon would never pass on the wall clock while days of traffic replay
 *   in seconds).
 */
import { codecs, type MessageOf, type TopicNames, type TopicRole } from '@moat/contracts';
import { Emitter, InvalidOutputError } from '../emitter';
import type { OutboundMessage } from '../transport';

export interface CollectedMessage<R extends TopicRole = TopicRole> {
  role: R;
  key: string | null;
  value: MessageOf<R> | null;
  /** What the caller had set as context when the output was emitted. */
  context: unknown;
}

export class CollectingEmitter extends Emitter {
  private readonly collected: CollectedMessage[] = [];
  /** Attached to every output emitted from now on. */
  context: unknown;

  constructor(topics: TopicNames) {
    super(topics);
  }

  override emit<R extends TopicRole>(
    role: R,
    key: string | null,
    value: MessageOf<R> | null,
  ): void {
    const codec = codecs[role];
    if (value === null) {
      const tombstone = codec.decode(null);
      if (!tombstone.ok) throw new InvalidOutputError(role, tombstone.reason);
    } else {
      const checked = codec.check(value);
      if (!checked.ok) throw new InvalidOutputError(role, checked.reason);
    }
    this.collected.push({ role, key, value, context: this.context });
  }

  override get length(): number {
    return this.collected.length;
  }

  override truncate(length: number): void {
    this.collected.length = length;
  }

  /** Not available: the outputs are values, see take(). */
  override drain(): OutboundMessage[] {
    throw new Error('CollectingEmitter keeps values; use take()');
  }

  /** Removes and returns the outputs collected so far. */
  take(): CollectedMessage[] {
    return this.collected.splice(0, this.collected.length);
  }
}

/** Event time as far as a replay has got: the latest event time seen (never goes back). */
export class EventClock {
  private current = 0;

  get now(): number {
    return this.current;
  }

  /** A function reading the clock, for stores that take one. */
  readonly read = (): number => this.current;

  advance(ts: number): void {
    if (ts > this.current) this.current = ts;
  }
}
