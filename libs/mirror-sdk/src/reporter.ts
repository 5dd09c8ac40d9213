/**
 * Sends request metadata to the Moat mirror agent (POST /v1/requests) in batches, off the
 * request path: report() only appends to a bounded buffer; a batch goes out when it is full or
 * every flushIntervalMs. A batch the agent refuses for now (429, 503, network error) is kept
 * and retried with backoff; when the buffer is full the oldest entries are dropped and counted —
 * the application is never slowed down or made to fail by Moat.
 *
 * Headers (cookies, tokens) and the body of a login travel to the agent in clear, which hashes
 * them before anything leaves it: keep the agent on a private network or behind TLS.
 */

/** What the mirror agent's batch endpoint takes for one request (its MirrorInput). */
export interface MirroredRequest {
  id?: string;
  /** Event time, epoch milliseconds. */
  ts: number;
  /** The TCP peer; with X-Forwarded-For among the headers the agent applies its trusted proxies. */
  ip: string;
  method: string;
  app?: string;
  host?: string;
  /** Path with query string. */
  path: string;
  status: number;
  requestBytes?: number;
  responseBytes?: number;
  latencyMs?: number;
  /** In the order the client sent them. */
  headers?: Record<string, string>;
  /** A login's body (JSON or form), for the username the agent hashes. */
  body?: string;
}

export interface MirrorReporterOptions {
  /** The mirror agent's batch endpoint, e.g. http://mirror-agent:8080/v1/requests. */
  endpoint: string;
  /** Requests per POST (the agent accepts up to MOAT_MIRROR_MAX_BATCH, 5000 by default). */
  maxBatch?: number;
  flushIntervalMs?: number;
  /** Requests held while the agent is unreachable; beyond, the oldest are dropped. */
  maxBuffered?: number;
  timeoutMs?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Told about failed sends and drops (rate-limited by the caller if it logs). */
  onError?: (error: Error) => void;
}

export interface ReporterStats {
  reported: number;
  /** Accepted by the agent (on the broker). */
  accepted: number;
  /** Refused by the agent as invalid. */
  rejected: number;
  /** Dropped because the buffer was full. */
  dropped: number;
  /** Sends that failed and were retried. */
  retries: number;
}

export class MirrorReporter {
  readonly stats: ReporterStats = { reported: 0, accepted: 0, rejected: 0, dropped: 0, retries: 0 };
  private buffer: MirroredRequest[] = [];
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffUntil = 0;
  private failures = 0;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: MirrorReporterOptions) {
    if (!/^https?:\/\//.test(options.endpoint)) {
      throw new Error(
        `Moat mirror: endpoint "${options.endpoint}" is not an http(s) URL (example: http://mirror-agent:8080/v1/requests)`,
      );
    }
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? 500, 5000));
    this.maxBuffered = Math.max(this.maxBatch, options.maxBuffered ?? 10_000);
    this.fetchImpl = options.fetch ?? fetch;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  report(request: MirroredRequest): void {
    this.stats.reported++;
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.stats.dropped++;
    }
    this.buffer.push(request);
    if (this.buffer.length >= this.maxBatch && !this.sending) void this.flush();
  }

  /** Sends what is buffered (one batch at a time); resolves when this round is done. */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.buffer.length === 0 || Date.now() < this.backoffUntil) return Promise.resolve();
    this.sending = this.sendAll().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stops the timer and sends what is left (one attempt per batch). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sending;
    this.backoffUntil = 0;
    await this.flush();
  }

  private async sendAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.maxBatch);
      const droppedBefore = this.stats.dropped;
      const outcome = await this.send(batch);
      if (outcome === 'retry') {
        this.failures++;
        this.stats.retries++;
        this.backoffUntil = Date.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        return;
      }
      this.failures = 0;
      // Entries dropped while the batch was out came off the front, i.e. from the batch itself.
      const droppedMeanwhile = Math.min(batch.length, this.stats.dropped - droppedBefore);
      this.buffer.splice(0, batch.length - droppedMeanwhile);
    }
  }

  private async send(batch: MirroredRequest[]): Promise<'done' | 'retry'> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.options.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'moat-mirror-sdk/0.1' },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (err) {
      this.options.onError?.(new Error(`Moat mirror: ${(err as Error).message}`));
      return 'retry';
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      this.options.onError?.(new Error(`Moat mirror: the agent answered ${response.status}`));
      return 'retry';
    }
    let result: { accepted?: number; rejected?: unknown[] } = {};
    try {
      result = (await response.json()) as typeof result;
    } catch {
      // a body that is not JSON: counted by status below
    }
    if (response.status === 202) {
      this.stats.accepted += result.accepted ?? batch.length;
      this.stats.rejected += result.rejected?.length ?? 0;
    } else {
      // 400 (nothing valid) or 413: retrying the same batch cannot succeed.
      this.stats.rejected += batch.length;
      this.options.onError?.(
        new Error(`Moat mirror: the agent refused a batch of ${batch.length} (${response.status})`),
      );
    }
    return 'done';
  }
}
