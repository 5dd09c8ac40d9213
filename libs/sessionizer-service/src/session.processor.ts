/**
 * Places each request in its session and emits it on moat.events.v1 with the session's running
 * features. The session key is a hashed credential when the request carries one (so the session
 * keeps its id across IP changes), else a fingerprint of IP, User-Agent, Accept-Language and
 * JA3/JA4. A gap longer than the inactivity timeout, in event time, starts a new session.
 */
import { createHash } from 'node:crypto';
import type { RequestRecord } from '@moat/contracts';
import type { Emitter, InRecord, KeyedProcessor } from '@moat/stream-kit';
import { authOutcome } from './auth-attempt';
import { templateRoute } from './route-template';

export interface SessionState {
  id: string;
  startedAt: number;
  lastTs: number;
  count: number;
  /** Distinct route templates seen, up to MAX_TRACKED_ROUTES; beyond that counted only. */
  routes: string[];
  uniqueRoutes: number;
  intervalSumMs: number;
  authAttempts: number;
  authFailures: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
}

export const MAX_TRACKED_ROUTES = 200;

export interface SessionizerOptions {
  inactivityMs: number;
}

export function sessionKeyOf(request: RequestRecord): {
  key: string;
  kind: 'credential' | 'fingerprint';
} {
  const credential = request.credentials[0];
  if (credential) return { key: `c:${credential.hash}`, kind: 'credential' };
  const fingerprint = createHash('sha256')
    .update(
      [
        request.app,
        request.ip,
        request.userAgent,
        request.acceptLanguage ?? '',
        request.ja3 ?? '',
        request.ja4 ?? '',
      ].join('\0'),
    )
    .digest('hex');
  return { key: `f:${fingerprint}`, kind: 'fingerprint' };
}

export class SessionProcessor implements KeyedProcessor<RequestRecord, SessionState> {
  readonly name = 'session';
  readonly stateTtlMs: number;

  constructor(private readonly options: SessionizerOptions) {
    // Kept past the timeout so that late events within the gap still join their session.
    this.stateTtlMs = options.inactivityMs * 2;
  }

  stateKey(request: RequestRecord): string {
    return sessionKeyOf(request).key;
  }

  process(
    record: InRecord<RequestRecord>,
    state: SessionState | undefined,
    out: Emitter,
  ): SessionState {
    const request = record.value!;
    const { key, kind } = sessionKeyOf(request);
    const route = templateRoute(request.path);
    const expired = state !== undefined && request.ts - state.lastTs > this.options.inactivityMs;
    const previous = expired ? undefined : state;
    const outcome = authOutcome(request.method, route, request.status);

    const session: SessionState = previous
      ? { ...previous, routes: [...previous.routes] }
      : {
          id: createHash('sha256').update(`${key}\0${request.ts}`).digest('hex').slice(0, 32),
          startedAt: request.ts,
          lastTs: request.ts,
          count: 0,
          routes: [],
          uniqueRoutes: 0,
          intervalSumMs: 0,
          authAttempts: 0,
          authFailures: 0,
          bytesIn: 0,
          bytesOut: 0,
          errors: 0,
        };
    // Late events (older than the last one seen) join the session without moving its clock.
    const interval = previous ? Math.max(0, request.ts - previous.lastTs) : undefined;
    session.count += 1;
    session.lastTs = Math.max(session.lastTs, request.ts);
    if (interval !== undefined) session.intervalSumMs += interval;
    if (!session.routes.includes(route)) {
      session.uniqueRoutes += 1;
      if (session.routes.length < MAX_TRACKED_ROUTES) session.routes.push(route);
    }
    if (outcome) session.authAttempts += 1;
    if (outcome === 'failure') session.authFailures += 1;
    session.bytesIn += request.requestBytes;
    session.bytesOut += request.responseBytes;
    if (request.status >= 400) session.errors += 1;

    out.emit('events', request.ip, {
      v: 1,
      request,
      sessionId: session.id,
      sessionKeyKind: kind,
      route,
      ...(outcome ? { auth: { outcome } } : {}),
      session: {
        startedAt: session.startedAt,
        requestCount: session.count,
        durationMs: session.lastTs - session.startedAt,
        uniqueRoutes: session.uniqueRoutes,
        ...(interval !== undefined ? { lastIntervalMs: interval } : {}),
        ...(session.count > 1
          ? { meanIntervalMs: session.intervalSumMs / (session.count - 1) }
          : {}),
        authAttempts: session.authAttempts,
        authFailures: session.authFailures,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
        errorResponses: session.errors,
      },
    });
    return session;
  }
}
