import { resolveDetectorConfig } from '../detector-config';
import { event, feed, fixedBaseline, T0 } from '../testing/events';
import {
  excessiveRequestConsumptionDetector as detector,
  formatBytes,
} from './excessive-request-consumption.detector';

const config = resolveDetectorConfig(detector, {});
const MIB = 1024 * 1024;
const upload = (i: number, requestBytes: number, path = '/api/cart/items') =>
  event({ method: 'POST', path, ts: T0 + i * 3_000, requestBytes, requestCount: i + 1 });

describe('excessive request consumption', () => {
  it('votes bot on the third oversized payload, with the endpoint and sizes in the evidence', () => {
    const events = Array.from({ length: 5 }, (_, i) => upload(i, 20 * MIB));
    const { bots } = feed(detector, events, config);
    expect(bots[0].event).toBe(events[2]);
    const worst = bots[0].vote.evidence.find((e) => e.metric === 'request_bytes_worst')!;
    expect(worst.detail).toBe(
      'POST /api/cart/items: 20.0 MiB against 1.0 MiB (prior (0 requests learned so far))',
    );
  });

  it('a person uploading one large file draws no bot vote', () => {
    const events = [
      upload(0, 8 * MIB, '/api/account/avatar'),
      ...Array.from({ length: 6 }, (_, i) => upload(i + 1, 600)),
    ];
    const { bots, votes } = feed(detector, events, config);
    expect(bots).toEqual([]);
    expect(votes.at(-1)?.vote.verdict).toBe('clean');
  });

  it('oversized requests that are a small share of a busy client are not enough', () => {
    const events = Array.from({ length: 40 }, (_, i) => upload(i, i % 10 === 0 ? 20 * MIB : 700));
    expect(feed(detector, events, config).bots).toEqual([]);
  });

  it('the learned threshold never drops below the floor (64 KiB)', () => {
    const events = Array.from({ length: 5 }, (_, i) => upload(i, 60 * 1024));
    expect(feed(detector, events, config, fixedBaseline(1_000, 700)).bots).toEqual([]);
    const big = Array.from({ length: 5 }, (_, i) => upload(i, 70 * 1024));
    expect(feed(detector, big, config, fixedBaseline(1_000, 700)).bots.length).toBeGreaterThan(0);
  });

  it('formats sizes for people', () => {
    expect([formatBytes(512), formatBytes(2048), formatBytes(3 * MIB)]).toEqual([
      '512 B',
      '2.0 KiB',
      '3.0 MiB',
    ]);
  });
});
