import { LocalBaseline } from '@moat/baselines';
import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import { responseTimeAnomalyDetector as detector } from './response-time-anomaly.detector';

const config = resolveDetectorConfig(detector, {});
const exportCall = (i: number, latencyMs: number, ip = '198.51.100.9') =>
  event({
    ip,
    ts: T0 + i * 2_000,
    path: '/api/export/orders',
    route: '/api/export/orders?format&from&to',
    latencyMs,
    sessionId: `s-${ip}`,
    requestCount: i + 1,
  });

describe('response time anomaly', () => {
  it('votes bot when a client keeps driving an endpoint beyond its prior threshold, naming the endpoint', () => {
    const events = Array.from({ length: 8 }, (_, i) => exportCall(i, 45_000));
    const { bots } = feed(detector, events, config);
    expect(bots.length).toBeGreaterThan(0);
    expect(bots[0].event).toBe(events[4]); // the fifth slow request
    const worst = bots[0].vote.evidence.find((e) => e.metric === 'latency_ms_worst')!;
    expect(worst.detail).toContain('GET /api/export/orders');
    expect(worst.threshold).toBe(10_000);
  });

  it('one slow request (an upstream timeout) is not abuse: votes clean', () => {
    const events = Array.from({ length: 8 }, (_, i) => exportCall(i, i === 3 ? 30_000 : 800));
    const { bots, votes } = feed(detector, events, config);
    expect(bots).toEqual([]);
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('uses the endpoint learned tail: what the prior tolerates can exceed a fast endpoint', () => {
    // The endpoint learned p99 = 100 ms from 500 requests: threshold max(1 s, 3 × 100 ms) = 1 s.
    const baseline = fixedBaseline(500, 100);
    const events = Array.from({ length: 8 }, (_, i) => exportCall(i, 4_000));
    expect(feed(detector, events, config).bots).toEqual([]);
    const { bots } = feed(detector, events, config, baseline);
    expect(bots.length).toBeGreaterThan(0);
    const worst = bots[0].vote.evidence.find((e) => e.metric === 'latency_ms_worst')!;
    expect(worst).toMatchObject({ threshold: 1_000, baseline: 100 });
  });

  it('learns each endpoint once per session, only values within the threshold, within the IP quota', () => {
    const events = [
      exportCall(0, 900),
      exportCall(1, 950), // same session and endpoint: not learned again
      exportCall(2, 50_000), // excessive: never learned
      event({ ip: '198.51.100.9', sessionId: 's-other', ts: T0 + 10_000, latencyMs: 20 }),
    ];
    const { observations } = feed(detector, events, config);
    expect(observations).toEqual([
      { metric: 'latency_ms', value: 900, endpoint: 'GET /api/export/orders' },
      { metric: 'latency_ms', value: 20, endpoint: 'GET /api/products/{id}' },
    ]);
  });

  it('a flood of slow requests cannot teach that slow is normal', () => {
    const baseline = new LocalBaseline(detector.baseline!);
    baseline.refresh();
    const states = new Map<string, unknown>();
    for (let ip = 0; ip < 40; ip++) {
      for (let i = 0; i < 30; i++) {
        const e = exportCall(i, 60_000, `203.0.113.${ip}`);
        const r = detector.evaluate({
          event: e,
          state: states.get(e.request.ip),
          baseline: baseline.view(e.request.app),
          config,
        });
        states.set(e.request.ip, r.state);
        if (r.observations) baseline.learn(e.request.app, e.request.ts, r.observations);
      }
    }
    baseline.refresh();
    expect(baseline.view('shop.example')?.count('latency_ms', 'GET /api/export/orders') ?? 0).toBe(
      0,
    );
  });
});
