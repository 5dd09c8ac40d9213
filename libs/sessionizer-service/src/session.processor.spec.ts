import fc from 'fast-check';
import { codecs, topicNames, type RequestRecord, type SessionEvent } from '@moat/contracts';
import { Emitter, type InRecord } from '@moat/stream-kit';
import { SessionProcessor, type SessionizerOptions, type SessionState } from './session.processor';
import { sessionKeyOf } from './session-key';
import { MAX_TRACKED_ROUTES, MAX_WINDOWS } from './session-window';

const topics = topicNames('unit');
const T0 = 1_764_000_000_000;
const THIRTY_MIN = 1_800_000;
const TOKEN_HASH = 'a'.repeat(64);

let seq = 0;
function request(overrides: Partial<RequestRecord> = {}): RequestRecord {
  seq++;
  return {
    v: 1,
    id: `req-${seq}`,
    ts: T0,
    app: 'shop.example',
    ip: '203.0.113.7',
    method: 'GET',
    path: '/api/products/1',
    query: {},
    status: 200,
    requestBytes: 10,
    responseBytes: 1000,
    latencyMs: 5,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    acceptLanguage: 'en-GB',
    headerNames: ['host', 'user-agent'],
    credentials: [],
    ...overrides,
  };
}

const withToken = (overrides: Partial<RequestRecord> = {}) =>
  request({
    credentials: [{ kind: 'bearer', name: 'authorization', hash: TOKEN_HASH }],
    ...overrides,
  });

/** Runs requests through the processor as keyedHandler would (state per key), returning the events. */
function sessionize(
  requests: RequestRecord[],
  inactivityMs = THIRTY_MIN,
  options: Partial<SessionizerOptions> = {},
) {
  const processor = new SessionProcessor({ inactivityMs, ...options });
  const states = new Map<string, SessionState>();
  const out = new Emitter(topics);
  requests.forEach((value, offset) => {
    const key = processor.stateKey(value);
    const record: InRecord<RequestRecord> = {
      topic: 'in',
      partition: 0,
      offset: String(offset),
      key: value.ip,
      value,
      timestamp: 0,
    };
    states.set(key, processor.process(record, states.get(key), out));
  });
  const messages = out.drain();
  const events = messages.map((m) => JSON.parse(m.value!.toString()) as SessionEvent);
  return { events, messages, states };
}

describe('SessionProcessor', () => {
  it('keeps a credential-keyed session id across IP changes', () => {
    const { events } = sessionize([
      withToken({ ip: '203.0.113.7', ts: T0 }),
      withToken({ ip: '198.51.100.22', ts: T0 + 1_000 }),
      withToken({ ip: '2001:db8::5', ts: T0 + 2_000, userAgent: 'curl/8.0' }),
    ]);
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1);
    expect(events.map((e) => e.sessionKeyKind)).toEqual(['credential', 'credential', 'credential']);
    expect(events.map((e) => e.session.requestCount)).toEqual([1, 2, 3]);
  });

  it('keys the event by the client IP of each request', () => {
    const { messages } = sessionize([
      withToken({ ip: '203.0.113.7' }),
      withToken({ ip: '198.51.100.22', ts: T0 + 1 }),
    ]);
    expect(messages.map((m) => m.key)).toEqual(['203.0.113.7', '198.51.100.22']);
  });

  it('splits fingerprint sessions by User-Agent, Accept-Language, TLS fingerprint, IP and app', () => {
    const { events } = sessionize([
      request({ ts: T0 }),
      request({ ts: T0 + 1, userAgent: 'python-requests/2.31' }),
      request({ ts: T0 + 2, acceptLanguage: 'fr-FR' }),
      request({ ts: T0 + 3, ja3: '771,4865-4866,0-23,29,0' }),
      request({ ts: T0 + 4, ip: '203.0.113.8' }),
      request({ ts: T0 + 5, app: 'admin.example' }),
      request({ ts: T0 + 6 }),
    ]);
    expect(new Set(events.slice(0, 6).map((e) => e.sessionId)).size).toBe(6);
    expect(events[6].sessionId).toBe(events[0].sessionId);
    expect(events[6].session.requestCount).toBe(2);
    expect(events.every((e) => e.sessionKeyKind === 'fingerprint')).toBe(true);
  });

  it('uses the first credential for the key, whatever the fingerprint', () => {
    const a = sessionKeyOf(withToken({ userAgent: 'a' }));
    const b = sessionKeyOf(withToken({ userAgent: 'b', ip: '198.51.100.1' }));
    expect(a).toEqual({ key: `c:${TOKEN_HASH}`, kind: 'credential' });
    expect(b).toEqual(a);
    expect(sessionKeyOf(request()).key).toMatch(/^f:[0-9a-f]{64}$/);
  });

  it('starts a new session with a new id after the inactivity timeout in event time', () => {
    const { events } = sessionize([
      request({ ts: T0 }),
      request({ ts: T0 + THIRTY_MIN }), // exactly the timeout: same session
      request({ ts: T0 + 2 * THIRTY_MIN + 1 }), // one ms more: a new one
      request({ ts: T0 + 2 * THIRTY_MIN + 1_001 }),
    ]);
    expect(events[1].sessionId).toBe(events[0].sessionId);
    expect(events[2].sessionId).not.toBe(events[0].sessionId);
    expect(events[3].sessionId).toBe(events[2].sessionId);
    expect(events[2].session).toMatchObject({
      requestCount: 1,
      startedAt: T0 + 2 * THIRTY_MIN + 1,
      durationMs: 0,
    });
    expect(events[2].session.lastIntervalMs).toBeUndefined();
    expect(events[3].session).toMatchObject({
      requestCount: 2,
      lastIntervalMs: 1_000,
      bytesOut: 2_000,
    });
  });

  it('ignores the wall clock: a replay long after the traffic yields the same sessions', () => {
    const requests = [
      request({ ts: T0 }),
      request({ ts: T0 + 60_000 }),
      request({ ts: T0 + 3 * THIRTY_MIN }),
    ];
    const live = sessionize(requests).events;
    const now = jest.spyOn(Date, 'now').mockReturnValue(T0 + 365 * 86_400_000);
    try {
      expect(sessionize(requests).events).toEqual(live);
    } finally {
      now.mockRestore();
    }
    expect(live[1].sessionId).toBe(live[0].sessionId);
    expect(live[2].sessionId).not.toBe(live[0].sessionId);
  });

  it('derives the session id deterministically, so a replay emits identical events', () => {
    const requests = [withToken({ ts: T0 }), request({ ts: T0 + 5 }), withToken({ ts: T0 + 10 })];
    const first = sessionize(requests).messages;
    const second = sessionize(requests).messages;
    expect(second.map((m) => m.value!.toString())).toEqual(first.map((m) => m.value!.toString()));
    expect(JSON.parse(first[0].value!.toString()).sessionId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('computes the running features', () => {
    const { events } = sessionize([
      request({ ts: T0, path: '/api/products/1', requestBytes: 100, responseBytes: 2_000 }),
      request({ ts: T0 + 1_000, path: '/api/products/2', requestBytes: 50, responseBytes: 1_000 }),
      request({
        ts: T0 + 4_000,
        method: 'POST',
        path: '/api/login',
        status: 401,
        requestBytes: 80,
        responseBytes: 40,
      }),
      request({
        ts: T0 + 5_000,
        method: 'POST',
        path: '/api/login',
        status: 200,
        requestBytes: 80,
        responseBytes: 400,
      }),
      request({
        ts: T0 + 9_000,
        path: '/api/cart',
        status: 500,
        requestBytes: 0,
        responseBytes: 10,
      }),
    ]);
    const last = events[4];
    expect(last.route).toBe('/api/cart');
    expect(last.session).toEqual({
      startedAt: T0,
      requestCount: 5,
      durationMs: 9_000,
      uniqueRoutes: 3,
      lastIntervalMs: 4_000,
      meanIntervalMs: 2_250,
      authAttempts: 2,
      authFailures: 1,
      bytesIn: 310,
      bytesOut: 3_450,
      errorResponses: 2,
      // gaps 1 s, 3 s, 1 s, 4 s: mean 2.25 s, population standard deviation 1.299 s
      intervalStdDevMs: expect.closeTo(Math.sqrt(6_750_000 / 4), 6),
      intervalCv: expect.closeTo(Math.sqrt(6_750_000 / 4) / 2_250, 9),
      minIntervalMs: 1_000,
      uniqueIps: 1,
      uniqueUsernames: 0,
      notFoundResponses: 0,
      serverErrors: 1,
      maxRequestBytes: 100,
      maxResponseBytes: 2_000,
    });
    expect(events[0].route).toBe('/api/products/{id}');
    expect(events[1].session.uniqueRoutes).toBe(1);
    expect(events[2].auth).toEqual({ outcome: 'failure' });
    expect(events[3].auth).toEqual({ outcome: 'success' });
    expect(events[4].auth).toBeUndefined();
    expect(events[0].session.meanIntervalMs).toBeUndefined();
  });

  it('lets a late event inside its session join it without moving the clock back', () => {
    const { events } = sessionize([
      request({ ts: T0 + 4_000 }),
      request({ ts: T0 + 10_000 }),
      request({ ts: T0 + 6_000 }), // late, between the two
      request({ ts: T0 + 12_000 }),
    ]);
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1);
    expect(events[2].session).toMatchObject({
      lastIntervalMs: 0,
      durationMs: 6_000,
      requestCount: 3,
    });
    expect(events[2].supersedes).toBeUndefined();
    expect(events[3].session).toMatchObject({ lastIntervalMs: 2_000, durationMs: 8_000 });
    // The late arrival adds no gap of its own: the gaps are 6 s and 2 s.
    expect(events[3].session.minIntervalMs).toBe(2_000);
    expect(events[3].session.meanIntervalMs).toBe(8_000 / 3);
  });

  it('moves the start of a session back for an earlier request, renaming it and saying so', () => {
    const { events } = sessionize([
      request({ ts: T0 + 10_000 }),
      request({ ts: T0 + 4_000 }), // earlier than the first: arrived late from elsewhere
      request({ ts: T0 + 12_000 }),
    ]);
    const inOrder = sessionize([
      request({ ts: T0 + 4_000 }),
      request({ ts: T0 + 10_000 }),
      request({ ts: T0 + 12_000 }),
    ]).events;
    expect(events[1].sessionId).not.toBe(events[0].sessionId);
    expect(events[1].supersedes).toEqual([events[0].sessionId]);
    expect(events[1].session).toMatchObject({
      startedAt: T0 + 4_000,
      requestCount: 2,
      durationMs: 6_000,
    });
    // From then on the session is the one an in-order arrival would have built.
    expect(events[2].sessionId).toBe(inOrder[2].sessionId);
    expect(events[2].session).toEqual(inOrder[2].session);
  });

  it('merges two sessions of a key when a late request closes the gap between them', () => {
    const { events } = sessionize([
      request({ ts: T0 }),
      request({ ts: T0 + 40 * 60_000 }), // 40 min later: a second session
      request({ ts: T0 + 20 * 60_000 }), // arrives last, within 30 min of both
    ]);
    expect(events[1].sessionId).not.toBe(events[0].sessionId);
    expect(events[2].sessionId).toBe(events[0].sessionId);
    expect(events[2].supersedes).toEqual([events[1].sessionId]);
    expect(events[2].session).toMatchObject({ requestCount: 3, durationMs: 40 * 60_000 });
  });

  describe('builds the same sessions whatever order the requests of a key arrive in', () => {
    const gapMs = fc.oneof(
      fc.integer({ min: 0, max: 5 * 60_000 }),
      fc.integer({ min: 25, max: 90 }).map((m) => m * 60_000),
      fc.constant(THIRTY_MIN),
      fc.constant(THIRTY_MIN + 1),
    );
    /** The sessions as the last event of each (not superseded) id describes them. */
    const final = (events: SessionEvent[]) => {
      const last = new Map<string, SessionEvent>();
      for (const e of events) {
        for (const old of e.supersedes ?? []) last.delete(old);
        last.set(e.sessionId, e);
      }
      return [...last.values()]
        .map((e) => ({
          id: e.sessionId,
          count: e.session.requestCount,
          start: e.session.startedAt,
          duration: e.session.durationMs,
          bytesIn: e.session.bytesIn,
          mean: e.session.meanIntervalMs,
        }))
        .sort((a, b) => a.start - b.start);
    };
    const check = (gaps: number[], order: number[]) => {
      let ts = T0;
      const requests = gaps.map((gap, i) =>
        withToken({ ts: (ts += gap), id: `r${i}`, requestBytes: i + 1 }),
      );
      const inOrder = final(sessionize(requests).events);
      const arrived = final(sessionize(order.map((i) => requests[i])).events);
      expect(arrived).toEqual(inOrder);
      expect(inOrder.reduce((n, s) => n + s.count, 0)).toBe(requests.length);
    };

    it('in any order, up to MAX_WINDOWS requests', () => {
      fc.assert(
        fc.property(
          fc.array(gapMs, { minLength: 1, maxLength: MAX_WINDOWS }).chain((gaps) =>
            fc.tuple(
              fc.constant(gaps),
              fc.shuffledSubarray(
                gaps.map((_, i) => i),
                { minLength: gaps.length, maxLength: gaps.length },
              ),
            ),
          ),
          ([gaps, order]) => check(gaps, order),
        ),
        { numRuns: 500 },
      );
    });

    it('in long runs where some requests arrive after their successor', () => {
      fc.assert(
        fc.property(
          fc
            .array(gapMs, { minLength: 2, maxLength: 60 })
            .chain((gaps) =>
              fc.tuple(
                fc.constant(gaps),
                fc.array(fc.boolean(), { minLength: gaps.length, maxLength: gaps.length }),
              ),
            ),
          ([gaps, swaps]) => {
            const order = gaps.map((_, i) => i);
            for (let i = 0; i + 1 < order.length; i += 2)
              if (swaps[i]) [order[i], order[i + 1]] = [order[i + 1], order[i]];
            check(gaps, order);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  it('counts the addresses and user names of a session', () => {
    const hash = (c: string) => c.repeat(64);
    const { events } = sessionize([
      withToken({
        ip: '203.0.113.1',
        ts: T0,
        method: 'POST',
        path: '/api/login',
        status: 401,
        usernameHash: hash('1'),
      }),
      withToken({
        ip: '203.0.113.2',
        ts: T0 + 1,
        method: 'POST',
        path: '/api/login',
        status: 401,
        usernameHash: hash('2'),
      }),
      withToken({
        ip: '203.0.113.1',
        ts: T0 + 2,
        method: 'POST',
        path: '/api/login',
        status: 200,
        usernameHash: hash('2'),
      }),
      withToken({ ip: '203.0.113.3', ts: T0 + 3, path: '/api/products/9', status: 404 }),
    ]);
    expect(events[3].session).toMatchObject({
      uniqueIps: 3,
      uniqueUsernames: 2,
      authAttempts: 3,
      authFailures: 2,
      notFoundResponses: 1,
      errorResponses: 3,
    });
  });

  it('tracks at most MAX_TRACKED_ROUTES routes in its state', () => {
    const requests = Array.from({ length: MAX_TRACKED_ROUTES + 50 }, (_, i) =>
      request({ ts: T0 + i, path: `/p/r${i}x` }),
    );
    const { states, events } = sessionize(requests, THIRTY_MIN, {
      config: { applications: { '*': { learnRoutes: false } } },
    });
    const [state] = [...states.values()];
    expect(state.windows[0].routes).toHaveLength(MAX_TRACKED_ROUTES);
    expect(events[events.length - 1].session.uniqueRoutes).toBe(MAX_TRACKED_ROUTES + 50);
  });

  it('does not change the state it was given', () => {
    const processor = new SessionProcessor({ inactivityMs: THIRTY_MIN });
    const out = new Emitter(topics);
    const value = request();
    const record: InRecord<RequestRecord> = {
      topic: 'in',
      partition: 0,
      offset: '0',
      key: value.ip,
      value,
      timestamp: 0,
    };
    const state = processor.process(record, undefined, out);
    const before = structuredClone(state);
    processor.process(
      { ...record, offset: '1', value: request({ ts: T0 + 1, path: '/other' }) },
      state,
      out,
    );
    expect(state).toEqual(before);
  });

  it('keeps state twice the inactivity timeout so late events still find their session', () => {
    expect(new SessionProcessor({ inactivityMs: 1_000 }).stateTtlMs).toBe(2_000);
  });

  it('emits a valid event for any valid request, however hostile its path', () => {
    const path = fc.oneof(
      fc.string({ minLength: 0, maxLength: 200 }).map((s) => `/${s}`),
      fc.integer({ min: 1, max: 4096 }).map((n) => '/1'.repeat(n)),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            path,
            gap: fc.integer({ min: 0, max: 2 * THIRTY_MIN }),
            status: fc.integer({ min: 0, max: 999 }),
          }),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (steps) => {
          let ts = T0;
          const requests = steps.map((s) =>
            request({ path: s.path, ts: (ts += s.gap), status: s.status, method: 'POST' }),
          );
          const { events } = sessionize(requests);
          expect(events).toHaveLength(requests.length);
          for (const e of events) expect(codecs.events.check(e).ok).toBe(true);
          // One session per run of requests without a gap over the timeout.
          const expected = 1 + steps.slice(1).filter((s) => s.gap > THIRTY_MIN).length;
          expect(new Set(events.map((e) => e.sessionId)).size).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
