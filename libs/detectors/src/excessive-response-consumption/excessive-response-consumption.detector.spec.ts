import type { SessionEvent } from '@moat/contracts';
import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import { excessiveResponseConsumptionDetector as detector } from './excessive-response-consumption.detector';

const config = resolveDetectorConfig(detector, {});
const MIB = 1024 * 1024;

/** A session of `n` requests of `bytes` each, `gapMs` apart, with running totals. */
function session(
  n: number,
  bytes: number,
  gapMs: number,
  path = '/api/products/1',
): SessionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const e = event({ ts: T0 + i * gapMs, path, responseBytes: bytes, requestCount: i + 1 });
    e.session.bytesOut = bytes * (i + 1);
    e.session.durationMs = i * gapMs;
    return e;
  });
}

describe('excessive response consumption', () => {
  it('votes bot when the session lifetime volume passes the learned threshold, naming the endpoints', () => {
    // learned q99.9 = 2 MiB -> threshold 4 MiB; 5,000 bytes a page: crosses at request 839.
    const events = session(1_200, 5_000, 60_000);
    const { bots } = feed(detector, events, config, fixedBaseline(1_000, 2 * MIB));
    expect(bots[0].event.session.requestCount).toBe(Math.floor((4 * MIB) / 5_000) + 1);
    const [total, top] = bots[0].vote.evidence;
    expect(total).toMatchObject({
      metric: 'session_response_bytes',
      threshold: 4 * MIB,
      baseline: 2 * MIB,
    });
    expect(top.detail).toBe(
      'GET /api/products/{id}: 4.0 MiB in 839 requests (100 % of the session)',
    );
  });

  it('no request alone is large: the same pages in a short session are clean', () => {
    const { bots, votes } = feed(
      detector,
      session(40, 5_000, 60_000),
      config,
      fixedBaseline(1_000, 2 * MIB),
    );
    expect(bots).toEqual([]);
    expect(votes.map((v) => v.vote.verdict)).toEqual(['clean']);
  });

  it('uses the prior until enough sessions were learned', () => {
    const events = session(30, 5 * MIB, 1_000);
    const early = feed(detector, events, config, fixedBaseline(499, 1 * MIB));
    expect(early.bots[0].event.session.requestCount).toBe(21); // 100 MiB prior
  });

  it('learns session volumes at checkpoints of the session length, not while flagged', () => {
    const { observations } = feed(detector, session(70, 1_000, 1_000), config);
    expect(observations).toEqual(
      [8, 16, 32, 64].map((n) => ({ metric: 'session_bytes_out', value: n * 1_000 })),
    );
    const flagged = feed(
      detector,
      session(70, 3 * MIB, 1_000),
      config,
      fixedBaseline(1_000, 1 * MIB),
    );
    expect(flagged.observations).toEqual([]);
  });
});
