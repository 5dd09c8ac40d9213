/** Test support: hand-built session events, for detector specs that need exact control. */
import type { SessionEvent } from '@moat/contracts';
import type { BaselineView } from '@moat/baselines';
import type { AnyDetector, VoteDraft } from '../detector';

export const T0 = Date.UTC(2026, 9, 5, 12);
export const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';
export const BROWSER_HEADERS = [
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
];

let seq = 0;

export function event(
  over: Partial<SessionEvent['request']> & {
    sessionId?: string;
    route?: string;
    requestCount?: number;
  } = {},
): SessionEvent {
  const { sessionId = 's1', route, requestCount = 1, ...request } = over;
  const path = request.path ?? '/api/products/1';
  return {
    v: 1,
    request: {
      v: 1,
      id: `req-${++seq}`,
      ts: T0,
      app: 'shop.example',
      ip: '203.0.113.7',
      method: 'GET',
      path,
      query: {},
      status: 200,
      requestBytes: 0,
      responseBytes: 100,
      latencyMs: 5,
      userAgent: CHROME,
      headerNames: BROWSER_HEADERS,
      credentials: [],
      ...request,
    },
    sessionId,
    sessionKeyKind: 'fingerprint',
    route: route ?? path.replace(/\/\d+(?=\/|$)/g, '/{id}'),
    session: {
      startedAt: T0,
      requestCount,
      durationMs: 0,
      uniqueRoutes: 1,
      authAttempts: 0,
      authFailures: 0,
      bytesIn: 0,
      bytesOut: 0,
      errorResponses: 0,
    },
  };
}

/** Feeds events through a detector in order, threading state per key; collects the votes. */
export function feed(
  detector: AnyDetector,
  events: SessionEvent[],
  config: unknown,
  baseline?: BaselineView,
) {
  const states = new Map<string, unknown>();
  const votes: { event: SessionEvent; vote: VoteDraft }[] = [];
  const observations: { metric: string; value: number; endpoint?: string }[] = [];
  for (const e of events) {
    const key = detector.stateKey(e) ?? '';
    const result = detector.evaluate({ event: e, state: states.get(key), baseline, config });
    states.set(key, result.state);
    if (result.vote) votes.push({ event: e, vote: result.vote });
    observations.push(...(result.observations ?? []));
  }
  const bots = votes.filter((v) => v.vote.verdict === 'bot');
  return { votes, bots, observations, states };
}

/** A baseline view that answers the same for every metric (to drive refinement). */
export function fixedBaseline(count: number, quantile: number, mean = quantile): BaselineView {
  return { count: () => count, quantile: () => quantile, mean: () => mean };
}
