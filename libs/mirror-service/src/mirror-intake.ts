/**
 * What every intake of the mirror agent shares: normalise, validate, join NGINX mirror
 * subrequests with their log lines, and offer to the bounded publisher, counting everything
 * that is received, rejected (malformed) or dropped (no room, broker error) per source.
 */
import type { PipelineMetrics } from '@moat/observability';
import type { Counter } from 'prom-client';
import type { MirrorInput } from './mirror-input';
import type { Normaliser, RequestSource } from './normaliser';
import type { RequestPublisher } from './publisher';
import type { RequestJoiner } from './sources/request-joiner';
import type { OutboundMessage } from '@moat/stream-kit';

/** One request an intake took in, before normalisation. */
export interface Submission {
  input: MirrorInput;
  source: RequestSource;
  /** The edge's request id, when a mirror subrequest may carry the other half. */
  requestId?: string;
}

/** What to do when the queue is full. */
export type Overflow = 'wait' | 'drop';

export class IntakeMetrics {
  readonly received: Counter<'source'>;
  readonly rejected: Counter<'source' | 'reason'>;
  readonly dropped: Counter<'source' | 'reason'>;

  constructor(metrics: PipelineMetrics) {
    this.received = metrics.counter(
      'moat_mirror_received_total',
      'Requests (lines, datagrams, subrequests, batch items) the mirror agent received, by source',
      ['source'],
    );
    this.rejected = metrics.counter(
      'moat_mirror_rejected_total',
      'Received input that was malformed, over a size limit or not a valid request, skipped',
      ['source', 'reason'],
    );
    this.dropped = metrics.counter(
      'moat_mirror_dropped_total',
      'Valid requests not published: queue full or broker error (syslog; HTTP callers get 429/503)',
      ['source', 'reason'],
    );
  }
}

export class MirrorIntake {
  private joiner: RequestJoiner | undefined;

  constructor(
    readonly normaliser: Normaliser,
    readonly publisher: RequestPublisher,
    readonly metrics: IntakeMetrics,
  ) {}

  /** Routes log records with a request id through the joiner (when NGINX mirroring is on). */
  useJoiner(joiner: RequestJoiner): void {
    this.joiner = joiner;
  }

  get joining(): boolean {
    return this.joiner !== undefined;
  }

  /**
   * Counts skipped input. `source` is the intake (http, file, syslog, nginx-mirror), the label
   * of every mirror metric.
   */
  rejected(source: string, reason: 'malformed' | 'oversized' | 'invalid', count = 1): void {
    if (count > 0) this.metrics.rejected.inc({ source, reason }, count);
  }

  /** Normalises and encodes one input; undefined (counted) when it is not a valid request. */
  prepare(input: MirrorInput, source: RequestSource, intake: string): OutboundMessage | undefined {
    const normalised = this.normaliser.tryNormalise(input, source);
    const prepared = normalised.ok ? this.publisher.prepare(normalised.record) : normalised;
    if (!prepared.ok) {
      this.rejected(intake, 'invalid');
      return undefined;
    }
    return prepared.message;
  }

  /**
   * Publishes submissions from a log or syslog intake. With `wait`, waits for room in the
   * queue (a tailed file loses nothing); with `drop`, what does not fit is counted and dropped.
   * Resolves once everything kept is acknowledged; rejects when the broker refused some (the
   * caller may retry the same submissions).
   */
  async submit(submissions: Submission[], overflow: Overflow, intake: string): Promise<void> {
    if (submissions.length === 0) return;
    this.metrics.received.inc({ source: intake }, submissions.length);
    const direct: OutboundMessage[] = [];
    const joined: Promise<void>[] = [];
    for (const s of submissions) {
      if (this.joiner && s.requestId !== undefined) {
        joined.push(this.joiner.log(s.requestId, s.input, s.source, overflow));
        continue;
      }
      const message = this.prepare(s.input, s.source, intake);
      if (message) direct.push(message);
    }
    await Promise.all([this.publish(direct, intake, overflow), ...joined]);
  }

  /**
   * Publishes one input released by the joiner (joined, or alone after its wait) or a mirror
   * subrequest that has nothing to join; counted under the nginx-mirror intake, or `log` for a
   * log line released alone.
   */
  release(input: MirrorInput, source: RequestSource, overflow: Overflow): Promise<void> {
    const intake = source === 'nginx-mirror' ? 'nginx-mirror' : 'log';
    const message = this.prepare(input, source, intake);
    return message ? this.publish([message], intake, overflow) : Promise.resolve();
  }

  async publish(messages: OutboundMessage[], source: string, overflow: Overflow): Promise<void> {
    if (messages.length === 0) return;
    const most = Math.max(1, Math.floor(this.publisher.capacity / 2));
    if (messages.length > most) {
      // Larger than the queue could ever take at once: in parts.
      const parts: Promise<void>[] = [];
      for (let i = 0; i < messages.length; i += most) {
        parts.push(this.publish(messages.slice(i, i + most), source, overflow));
      }
      await Promise.all(parts);
      return;
    }
    for (;;) {
      const sent = this.publisher.offer(messages);
      if (sent) {
        try {
          await sent;
        } catch (err) {
          if (overflow === 'drop') {
            this.metrics.dropped.inc({ source, reason: 'broker_error' }, messages.length);
            return;
          }
          throw err;
        }
        return;
      }
      if (overflow === 'drop') {
        this.metrics.dropped.inc({ source, reason: 'queue_full' }, messages.length);
        return;
      }
      await this.publisher.waitForRoom(messages.length);
    }
  }
}
