/**
 * Joins NGINX `mirror` subrequests with the access-log record of the same request.
 *
 * The mirror subrequest carries what the log cannot (every header in order, the cookies and
 * tokens the agent hashes, the body with a login's username) but no response; the log record
 * carries the status, sizes and latency. Both carry NGINX's $request_id. The mirror is sent
 * when the request starts and the log line is written when it ends, so a mirror waits up to
 * `mirrorWaitMs` for its log line and a log line waits a short `logWaitMs` for a late mirror
 * (requests refused before the content phase, e.g. by auth_request, are never mirrored).
 * Whatever finds no partner in time is released alone: a mirror-only record has status 0
 * (unknown).
 *
 * Waiting is transport buffering, so it runs on the wall clock; event times are untouched.
 * Memory is bounded: beyond `maxPending` entries the oldest is released alone at once.
 */
import type { MirrorInput } from '../mirror-input';
import type { RequestSource } from '../normaliser';

export interface JoinerOptions {
  mirrorWaitMs: number;
  logWaitMs: number;
  maxPending: number;
}

export const DEFAULT_JOINER_OPTIONS: JoinerOptions = {
  mirrorWaitMs: 30_000,
  logWaitMs: 1_000,
  maxPending: 50_000,
};

/**
 * Publishes a released input; resolves once it is acknowledged (or dropped). `wait` waits for
 * room in the queue (a tailed file's line), `drop` drops when it is full (mirror, syslog).
 */
export type Release = (
  input: MirrorInput,
  source: RequestSource,
  overflow: 'wait' | 'drop',
) => Promise<void>;

interface PendingMirror {
  input: MirrorInput;
  at: number;
}

interface PendingLog {
  input: MirrorInput;
  source: RequestSource;
  overflow: 'wait' | 'drop';
  at: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface JoinCounts {
  joined: number;
  mirrorOnly: number;
  logOnly: number;
  overflow: number;
}

export class RequestJoiner {
  private readonly mirrors = new Map<string, PendingMirror>();
  private readonly logs = new Map<string, PendingLog>();
  readonly counts: JoinCounts = { joined: 0, mirrorOnly: 0, logOnly: 0, overflow: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly release: Release,
    private readonly options: JoinerOptions = DEFAULT_JOINER_OPTIONS,
    private readonly now: () => number = Date.now,
  ) {}

  get pending(): number {
    return this.mirrors.size + this.logs.size;
  }

  /** Starts the expiry sweep (every 100 ms). */
  start(): void {
    this.timer ??= setInterval(() => void this.expire(), 100);
    this.timer.unref();
  }

  /** Stops the sweep and releases everything still waiting. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.expire(Infinity);
  }

  /** A mirror subrequest arrived. */
  mirror(requestId: string, input: MirrorInput): void {
    const log = this.logs.get(requestId);
    if (log) {
      this.logs.delete(requestId);
      this.counts.joined++;
      this.release(joinInputs(input, log.input), 'nginx-mirror', log.overflow).then(
        log.resolve,
        log.reject,
      );
      return;
    }
    this.mirrors.delete(requestId);
    this.mirrors.set(requestId, { input, at: this.now() });
    this.bound();
  }

  /** An access-log record arrived; resolves once it is published (joined or alone). */
  log(
    requestId: string,
    input: MirrorInput,
    source: RequestSource,
    overflow: 'wait' | 'drop',
  ): Promise<void> {
    const mirror = this.mirrors.get(requestId);
    if (mirror) {
      this.mirrors.delete(requestId);
      this.counts.joined++;
      return this.release(joinInputs(mirror.input, input), 'nginx-mirror', overflow);
    }
    return new Promise<void>((resolve, reject) => {
      const previous = this.logs.get(requestId);
      if (previous) {
        // The same request logged twice (two log sources): the first one is released alone.
        this.logs.delete(requestId);
        this.counts.logOnly++;
        this.release(previous.input, previous.source, previous.overflow).then(
          previous.resolve,
          previous.reject,
        );
      }
      this.logs.set(requestId, { input, source, overflow, at: this.now(), resolve, reject });
      this.bound();
    });
  }

  /** Releases what waited too long; with Infinity, everything. */
  async expire(until: number = this.now()): Promise<void> {
    const releases: Promise<void>[] = [];
    for (const [id, m] of this.mirrors) {
      if (until !== Infinity && until - m.at < this.options.mirrorWaitMs) break;
      this.mirrors.delete(id);
      this.counts.mirrorOnly++;
      releases.push(this.release(m.input, 'nginx-mirror', 'drop').catch(() => undefined));
    }
    for (const [id, l] of this.logs) {
      if (until !== Infinity && until - l.at < this.options.logWaitMs) break;
      this.logs.delete(id);
      this.counts.logOnly++;
      releases.push(this.release(l.input, l.source, l.overflow).then(l.resolve, l.reject));
    }
    await Promise.all(releases);
  }

  /** Releases the oldest entries alone while more than maxPending wait. */
  private bound(): void {
    while (this.mirrors.size + this.logs.size > this.options.maxPending) {
      this.counts.overflow++;
      const oldestMirror = this.mirrors.entries().next();
      const oldestLog = this.logs.entries().next();
      const takeMirror =
        !oldestMirror.done && (oldestLog.done || oldestMirror.value[1].at <= oldestLog.value[1].at);
      if (takeMirror) {
        const [id, m] = oldestMirror.value;
        this.mirrors.delete(id);
        this.counts.mirrorOnly++;
        void this.release(m.input, 'nginx-mirror', 'drop').catch(() => undefined);
      } else if (!oldestLog.done) {
        const [id, l] = oldestLog.value;
        this.logs.delete(id);
        this.counts.logOnly++;
        this.release(l.input, l.source, l.overflow).then(l.resolve, l.reject);
      }
    }
  }
}

/**
 * One request from its two halves: the request as the mirror saw it (client address, every
 * header, body), the response and timing as the log recorded them.
 */
export function joinInputs(mirror: MirrorInput, log: MirrorInput): MirrorInput {
  const joined: MirrorInput = {
    ...mirror,
    status: log.status,
    partialHeaders: false,
  };
  if (log.ts !== undefined) joined.ts = log.ts;
  if (log.id !== undefined) joined.id = log.id;
  if (log.requestBytes !== undefined) joined.requestBytes = log.requestBytes;
  if (log.responseBytes !== undefined) joined.responseBytes = log.responseBytes;
  if (log.latencyMs !== undefined) joined.latencyMs = log.latencyMs;
  if (joined.host === undefined && log.host !== undefined) joined.host = log.host;
  if (joined.app === undefined && log.app !== undefined) joined.app = log.app;
  if (joined.ja3 === undefined && log.ja3 !== undefined) joined.ja3 = log.ja3;
  if (joined.ja4 === undefined && log.ja4 !== undefined) joined.ja4 = log.ja4;
  return joined;
}
