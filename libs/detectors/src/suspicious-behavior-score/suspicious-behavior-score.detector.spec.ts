import type { SessionEvent } from '@moat/contracts';
import { LocalBaseline } from '@moat/baselines';
import { resolveDetectorConfig } from '../detector-config';
import type { VoteDraft } from '../detector';
import { event, T0 } from '../testing/events';
import {
  distribution,
  featureSurprise,
  lowerTail,
  MIN_TAIL,
  stepProbability,
  transitionObservations,
  upperTail,
} from './behavior-model';
import {
  suspiciousBehaviorScoreDetector as detector,
  type SuspiciousBehaviorScoreConfig,
  type SuspiciousBehaviorScoreState,
} from './suspicious-behavior-score.detector';

/** A deterministic pseudo-random stream (mulberry32), so the specs are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NEXT: Record<string, [string, number][]> = {
  '/': [
    ['/api/categories', 0.6],
    ['/api/search', 0.4],
  ],
  '/api/categories': [
    ['/api/products/{id}', 0.8],
    ['/api/search', 0.2],
  ],
  '/api/search': [
    ['/api/products/{id}', 0.9],
    ['/', 0.1],
  ],
  '/api/products/{id}': [
    ['/api/products/{id}/reviews', 0.5],
    ['/api/cart', 0.2],
    ['/api/search', 0.3],
  ],
  '/api/products/{id}/reviews': [
    ['/api/products/{id}', 0.6],
    ['/api/cart', 0.4],
  ],
  '/api/cart': [
    ['/', 0.5],
    ['/api/categories', 0.5],
  ],
};

/** A session of requests with running features as the sessionizer computes them. */
function session(
  id: string,
  ip: string,
  start: number,
  steps: { route: string; gapMs: number; status?: number }[],
): SessionEvent[] {
  const gaps: number[] = [];
  const routes = new Set<string>();
  let t = start;
  let bytes = 0;
  let errors = 0;
  return steps.map((step, i) => {
    if (i > 0) {
      t += step.gapMs;
      gaps.push(step.gapMs);
    }
    routes.add(step.route);
    bytes += 2_000;
    if ((step.status ?? 200) >= 400) errors++;
    const e = event({
      ip,
      ts: t,
      sessionId: id,
      path: step.route.replace('{id}', '7'),
      route: step.route,
      status: step.status ?? 200,
      responseBytes: 2_000,
    });
    const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined;
    const sd =
      mean !== undefined
        ? Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length)
        : undefined;
    e.session = {
      ...e.session,
      startedAt: start,
      requestCount: i + 1,
      durationMs: t - start,
      uniqueRoutes: routes.size,
      bytesOut: bytes,
      errorResponses: errors,
      ...(mean !== undefined && { meanIntervalMs: mean, lastIntervalMs: step.gapMs }),
      ...(gaps.length >= 2 &&
        sd !== undefined &&
        mean && { intervalStdDevMs: sd, intervalCv: sd / mean, minIntervalMs: Math.min(...gaps) }),
    };
    return e;
  });
}

function personSession(r: () => number, k: number): SessionEvent[] {
  const n = 8 + Math.floor(r() * 20);
  let route = '/';
  const steps = [];
  for (let i = 0; i < n; i++) {
    steps.push({ route, gapMs: Math.round(500 + 20_000 * r() * r()) });
    const choices = NEXT[route];
    let x = r();
    route = choices[choices.length - 1][0];
    for (const [next, p] of choices)
      if ((x -= p) < 0) {
        route = next;
        break;
      }
  }
  return session(`p${k}`, `198.51.${Math.floor(k / 200)}.${k % 200}`, T0 + k * 60_000, steps);
}

const config = resolveDetectorConfig(detector, {
  minModelSteps: 500,
  minBaselineSessions: 100,
}) as SuspiciousBehaviorScoreConfig;

/** Feeds events through the detector with a learned baseline refreshed every 200 events. */
function run(events: SessionEvent[], baseline: LocalBaseline, learn = true) {
  const states = new Map<string, SuspiciousBehaviorScoreState | undefined>();
  const votes: { event: SessionEvent; vote: VoteDraft }[] = [];
  let observations = 0;
  events.forEach((e, i) => {
    if (learn && i % 200 === 0) baseline.refresh();
    const r = detector.evaluate({
      event: e,
      state: states.get(e.request.ip),
      baseline: baseline.view(e.request.app),
      config,
    });
    states.set(e.request.ip, r.state as SuspiciousBehaviorScoreState);
    if (r.vote) votes.push({ event: e, vote: r.vote });
    if (learn && r.observations) {
      observations += r.observations.length;
      baseline.learn(e.request.app, e.request.ts, r.observations);
    }
  });
  return { votes, bots: votes.filter((v) => v.vote.verdict === 'bot'), observations, states };
}

describe('behavior model', () => {
  const baseline = new LocalBaseline(detector.baseline!);
  for (let i = 0; i < 90; i++) baseline.learn('a', T0, transitionObservations('A', 'B'));
  for (let i = 0; i < 10; i++) baseline.learn('a', T0, transitionObservations('A', 'C'));
  for (let i = 0; i < 50; i++) baseline.learn('a', T0, transitionObservations('C', 'D'));
  baseline.refresh();
  const view = baseline.view('a')!;
  const options = { smoothing: 2, vocabulary: 512 };

  it('a common transition is likely, an unseen one to a known endpoint unusual, to an unknown one more so', () => {
    const common = stepProbability(view, 'A', 'B', options);
    const rare = stepProbability(view, 'A', 'C', options);
    const unseen = stepProbability(view, 'A', 'D', options);
    const unknown = stepProbability(view, 'A', 'Z', options);
    expect(common.p).toBeGreaterThan(0.85);
    expect(common).toMatchObject({ seen: 90, from: 100 });
    expect(rare.p).toBeCloseTo(0.1, 1);
    expect(unseen.p).toBeGreaterThan(unknown.p);
    expect(unknown.p).toBeGreaterThan(0);
    expect(unknown.surprise).toBeGreaterThan(unseen.surprise);
  });

  it('probabilities from a state sum to at most 1 (smoothing keeps mass for the unseen)', () => {
    const arrivals = ['B', 'C', 'D'];
    const total = arrivals.reduce((sum, to) => sum + stepProbability(view, 'A', to, options).p, 0);
    expect(total).toBeLessThanOrEqual(1);
    expect(total).toBeGreaterThan(0.95);
  });

  it('tail probabilities follow the learned quantiles and extrapolate beyond them', () => {
    const values = new LocalBaseline({ metrics: { x: {} } });
    for (let i = 1; i <= 10_000; i++) values.learn('a', T0, [{ metric: 'x', value: i }]);
    values.refresh();
    const d = distribution(values.view('a')!, 'x', 100)!;
    expect(upperTail(d, 5_000)).toBeCloseTo(0.5, 1);
    // Within the sketch's 2 % accuracy around the 95th and 5th percentiles.
    expect(upperTail(d, 9_500)).toBeGreaterThan(0.02);
    expect(upperTail(d, 9_500)).toBeLessThan(0.1);
    expect(lowerTail(d, 500)).toBeGreaterThan(0.02);
    expect(lowerTail(d, 500)).toBeLessThan(0.1);
    expect(upperTail(d, 12_000)).toBeLessThan(0.001);
    expect(upperTail(d, 1e9)).toBe(MIN_TAIL);
    expect(featureSurprise(d, 5_000, 'both')).toBeLessThan(0.1);
    expect(featureSurprise(d, 5, 'both')).toBeGreaterThan(featureSurprise(d, 5, 'upper'));
  });

  it('a distribution of zeros does not make a small value an outlier, a large one is', () => {
    const zeros = new LocalBaseline({ metrics: { x: {} } });
    for (let i = 0; i < 1_000; i++) zeros.learn('a', T0, [{ metric: 'x', value: 0 }]);
    zeros.refresh();
    const d = distribution(zeros.view('a')!, 'x', 100)!;
    expect(featureSurprise(d, 0, 'upper')).toBeCloseTo(0, 10);
    expect(featureSurprise(d, 0.02, 'upper', 0.05)).toBeLessThan(Math.log(1e4));
    expect(featureSurprise(d, 0.9, 'upper', 0.05)).toBeCloseTo(-Math.log(MIN_TAIL), 5);
  });

  it('a distribution with too few observations is not used', () => {
    expect(distribution(view, 'f:interval_cv', 1)).toBeUndefined();
  });
});

describe('suspicious behavior score', () => {
  const r = rng(7);
  const people = Array.from({ length: 500 }, (_, k) => personSession(r, k)).flat();
  people.sort((a, b) => a.request.ts - b.request.ts);
  const baseline = new LocalBaseline(detector.baseline!);
  const training = run(people, baseline);
  baseline.refresh();

  it('learns the transition model and the features from people, and flags at most 1 % of them', () => {
    const view = baseline.view('shop.example')!;
    expect(view.count('arrival')).toBeGreaterThan(config.minModelSteps);
    expect(view.count('f:interval_cv')).toBeGreaterThan(config.minBaselineSessions);
    // A threshold at the learned 99th percentile × 1.25 on a small, uniform synthetic crowd.
    expect(new Set(training.bots.map((b) => b.event.sessionId)).size).toBeLessThanOrEqual(5);
    expect(training.votes.filter((v) => v.vote.verdict === 'clean').length).toBeGreaterThan(100);
  });

  it('flags a session that walks endpoints in an order people never do, and explains it', () => {
    const probe = session('bot-1', '203.0.113.50', T0 + 600 * 60_000, [
      ...[
        '/api/cart',
        '/api/admin/users',
        '/api/internal/config',
        '/api/cart',
        '/api/v0/users',
      ].flatMap((route) => [
        { route, gapMs: 1_000, status: 403 },
        { route: '/api/payment', gapMs: 1_000, status: 405 },
      ]),
      ...Array.from({ length: 10 }, (_, i) => ({
        route: `/api/admin/${i}`,
        gapMs: 1_000,
        status: 403,
      })),
    ]);
    const { bots } = run(probe, baseline, false);
    expect(bots.length).toBeGreaterThan(0);
    const evidence = bots[0].vote.evidence;
    expect(evidence[0].metric).toBe('behavior_score');
    expect(evidence[0].value).toBeGreaterThan(evidence[0].threshold!);
    const transitions = evidence.filter((e) => e.metric === 'unusual_transition');
    expect(transitions.length).toBe(3);
    expect(transitions[0].detail).toMatch(/ -> .*seen 0 times in normal sessions/);
    expect(evidence.some((e) => e.metric === 'feature:error_share')).toBe(true);
  });

  it('flags a machine-paced session hammering one endpoint', () => {
    const scraper = session(
      'bot-2',
      '203.0.113.51',
      T0 + 600 * 60_000,
      Array.from({ length: 40 }, () => ({ route: '/api/products/{id}', gapMs: 700 })),
    );
    expect(run(scraper, baseline, false).bots.length).toBeGreaterThan(0);
  });

  it('a fresh person following the learned paths is judged clean', () => {
    const fresh = personSession(rng(99), 9_999);
    const { votes, bots } = run(fresh, baseline, false);
    expect(bots).toEqual([]);
    expect(votes.map((v) => v.vote.verdict)).toContain('clean');
  });

  it('judges nothing before the model has learned enough', () => {
    const empty = new LocalBaseline(detector.baseline!);
    empty.refresh();
    const scraper = session(
      'bot-3',
      '203.0.113.52',
      T0,
      Array.from({ length: 40 }, () => ({ route: '/api/x', gapMs: 700 })),
    );
    expect(run(scraper, empty, false).votes).toEqual([]);
  });

  it('poisoning resistance: short sessions teach nothing, a session teaches at most its step budget, an IP at most its quota', () => {
    const fresh = () => {
      const b = new LocalBaseline(detector.baseline!);
      b.refresh();
      return b;
    };
    const short = session(
      's-short',
      '192.0.2.1',
      T0,
      Array.from({ length: config.learnAfter - 1 }, () => ({ route: '/a', gapMs: 1_000 })),
    );
    expect(run(short, fresh()).observations).toBe(0);

    const long = session(
      's-long',
      '192.0.2.2',
      T0,
      Array.from({ length: 200 }, () => ({ route: '/a', gapMs: 1_000 })),
    );
    const b = fresh();
    run(long, b);
    b.refresh();
    expect(b.view('shop.example')!.count('transition')).toBe(config.maxStepsPerSession);

    const many = Array.from({ length: 20 }, (_, k) =>
      session(
        `s-${k}`,
        '192.0.2.3',
        T0 + k * 2_000_000,
        Array.from({ length: 10 }, () => ({ route: '/a', gapMs: 1_000 })),
      ),
    ).flat();
    const c = fresh();
    run(many, c);
    c.refresh();
    expect(c.view('shop.example')!.count('departure', '^')).toBe(config.learnPerIp);
  });
});
