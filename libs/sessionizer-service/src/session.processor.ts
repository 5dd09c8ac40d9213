/**
 * Places each request in its session and emits it on moat.events.v1 with the session's running
 * features, so that most detectors need no state of their own. The session key is a hashed
 * credential the application counts as a session parameter (the session keeps its id across IP
 * changes), else a fingerprint of IP, User-Agent, Accept-Language and JA3/JA4. Sessions are
 * event-time session windows (see session-window.ts): a gap longer than the inactivity timeout
 * starts a new one, and a session's id derives from its key and its first request's time.
 *
 * A KeyedProcessor: the distributed sessionizer runs it with its state in Redis (credential
 * sessions after re-keying, see sessionizer.handler.ts), replays and the simulator in memory.
 */
import type { RequestRecord, SessionEvent } from '@moat/contracts';
import type { Emitter, InRecord, KeyedProcessor } from '@moat/stream-kit';
import { AuthAttempts } from './auth-attempt';
import { RouteLearner } from './route-learner';
import { RouteTemplater } from './route-template';
import { ApplicationConfigs, type SessionizerConfig } from './session-config';
import { sessionKeyOf, type SessionKey } from './session-key';
import { place, type SessionWindow } from './session-window';

export interface SessionState {
  /** The key's session windows, oldest first (at most MAX_WINDOWS). */
  windows: SessionWindow[];
}

export interface SessionizerOptions {
  inactivityMs: number;
  /**
   * How late (in event time, behind the newest request of its key) a request may arrive and
   * still join or merge the sessions it belongs to; default 6 h. Requests of one partition
   * arrive in order; this covers the lag between partitions in a replay or after an outage.
   */
  allowedLatenessMs?: number;
  /** Per-application session keys, authentication rules and route templates. */
  config?: SessionizerConfig;
  /** Learned route templates, shared by the processors of a process. */
  learner?: RouteLearner;
}

export const DEFAULT_LATENESS_MS = 6 * 3_600_000;

export class SessionProcessor implements KeyedProcessor<RequestRecord, SessionState> {
  readonly name = 'session';
  readonly stateTtlMs: number;
  readonly learner: RouteLearner;
  private readonly retentionMs: number;
  private readonly configs: ApplicationConfigs;
  private readonly templater: RouteTemplater;
  private readonly auth = new Map<string, AuthAttempts>();

  constructor(private readonly options: SessionizerOptions) {
    // Kept past the timeout so that late events within the gap still join their session.
    this.stateTtlMs = options.inactivityMs * 2;
    this.retentionMs = options.inactivityMs + (options.allowedLatenessMs ?? DEFAULT_LATENESS_MS);
    this.configs = new ApplicationConfigs(options.config);
    this.learner = options.learner ?? new RouteLearner();
    this.templater = new RouteTemplater(this.configs, this.learner);
  }

  sessionKey(request: RequestRecord): SessionKey {
    return sessionKeyOf(request, this.configs.for(request.app));
  }

  stateKey(request: RequestRecord): string {
    return this.sessionKey(request).key;
  }

  private authFor(app: string): AuthAttempts {
    let auth = this.auth.get(app);
    if (!auth) {
      if (this.auth.size >= 10_000) this.auth.clear();
      auth = new AuthAttempts(this.configs.for(app));
      this.auth.set(app, auth);
    }
    return auth;
  }

  process(
    record: InRecord<RequestRecord>,
    state: SessionState | undefined,
    out: Emitter,
  ): SessionState {
    return this.place(record.value!, this.sessionKey(record.value!), state, out);
  }

  /** Places a request under a given session key (the re-keyed path already knows it). */
  place(
    request: RequestRecord,
    { key, kind }: SessionKey,
    state: SessionState | undefined,
    out: Emitter,
  ): SessionState {
    const route = this.templater.template(request);
    const outcome = this.authFor(request.app).outcome(
      request.method,
      request.path,
      route,
      request.status,
    );
    const placement = place(
      key,
      state?.windows ?? [],
      {
        ts: request.ts,
        ip: request.ip,
        route,
        status: request.status,
        requestBytes: request.requestBytes,
        responseBytes: request.responseBytes,
        ...(outcome ? { auth: outcome } : {}),
        ...(request.usernameHash ? { usernameHash: request.usernameHash } : {}),
      },
      this.options.inactivityMs,
      this.retentionMs,
    );
    const event: SessionEvent = {
      v: 1,
      request,
      sessionId: placement.window.id,
      sessionKeyKind: kind,
      route,
      ...(outcome ? { auth: { outcome } } : {}),
      session: features(placement.window, placement.lastIntervalMs),
      ...(placement.supersedes ? { supersedes: placement.supersedes } : {}),
    };
    out.emit('events', request.ip, event);
    return { windows: placement.windows };
  }
}

function features(w: SessionWindow, lastIntervalMs: number | undefined): SessionEvent['session'] {
  const session: SessionEvent['session'] = {
    startedAt: w.start,
    requestCount: w.count,
    durationMs: w.end - w.start,
    uniqueRoutes: w.uniqueRoutes,
    authAttempts: w.authAttempts,
    authFailures: w.authFailures,
    bytesIn: w.bytesIn,
    bytesOut: w.bytesOut,
    errorResponses: w.errors,
    uniqueIps: w.uniqueIps,
    uniqueUsernames: w.uniqueUsernames,
    notFoundResponses: w.notFound,
    serverErrors: w.serverErrors,
    maxRequestBytes: w.maxRequestBytes,
    maxResponseBytes: w.maxResponseBytes,
  };
  if (lastIntervalMs !== undefined) session.lastIntervalMs = lastIntervalMs;
  if (w.count > 1) session.meanIntervalMs = (w.end - w.start) / (w.count - 1);
  if (w.gaps.n > 0) session.minIntervalMs = w.gaps.min;
  if (w.gaps.n > 1) {
    const std = Math.sqrt(Math.max(0, w.gaps.m2) / w.gaps.n);
    session.intervalStdDevMs = std;
    session.intervalCv = w.gaps.mean > 0 ? std / w.gaps.mean : 0;
  }
  return session;
}
