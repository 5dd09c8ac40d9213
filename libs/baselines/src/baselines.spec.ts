import fc from 'fast-check';
import {
  APP_SCOPE,
  BaselineShard,
  EMPTY_BASELINE,
  LearnedBaseline,
  LocalBaseline,
  MetricSketch,
  isLearningCheckpoint,
  refineThreshold,
  resolveBaselineSpec,
  takeLearningQuota,
  type EncodedSketch,
} from './index';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 5);
const spec = resolveBaselineSpec({
  metrics: { cv: { max: 20 }, calls: { perEndpoint: true } },
  epochs: 3,
  maxEndpoints: 2,
});

describe('MetricSketch', () => {
  it('answers quantiles within its relative accuracy and keeps exact count and mean through encoding', () => {
    const sketch = MetricSketch.empty(0.02);
    for (let i = 1; i <= 1000; i++) sketch.add(i);
    const decoded = MetricSketch.decode(
      JSON.parse(JSON.stringify(sketch.encode())) as EncodedSketch,
    );
    expect(decoded.count).toBe(1000);
    expect(decoded.mean()).toBeCloseTo(500.5);
    for (const q of [0.01, 0.5, 0.99]) {
      const exact = Math.ceil(q * 1000);
      expect(Math.abs(decoded.quantile(q)! - exact) / exact).toBeLessThanOrEqual(0.03);
    }
    expect(MetricSketch.empty(0.02).quantile(0.5)).toBeUndefined();
  });

  it('merges: two halves answer like the whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 1e4, noNaN: true }), { minLength: 2, maxLength: 300 }),
        (values) => {
          const whole = MetricSketch.empty(0.02);
          const a = MetricSketch.empty(0.02);
          const b = MetricSketch.empty(0.02);
          values.forEach((v, i) => {
            whole.add(v);
            (i % 2 ? a : b).add(v);
          });
          a.merge(b);
          expect(a.count).toBe(whole.count);
          expect(a.quantile(0.9)).toBeCloseTo(whole.quantile(0.9)!, 6);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('clones without a protobuf round trip: the copy answers like a decoded one and changes apart', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (first, later) => {
          const original = MetricSketch.empty(0.02);
          first.forEach((v) => original.add(v));
          const stored = JSON.parse(JSON.stringify(original.encode())) as EncodedSketch;
          const decoded = MetricSketch.decode(stored);
          const clone = decoded.clone();
          expect(clone.encode()).toBe(decoded.encode()); // unchanged: the encoded form is reused
          later.forEach((v) => {
            clone.add(v);
            original.add(v);
          });
          const reference = MetricSketch.decode(stored);
          later.forEach((v) => reference.add(v));
          expect(decoded.count).toBe(first.length); // the clone's values did not leak into it
          expect(clone.count).toBe(reference.count);
          for (let q = 0; q <= 1; q += 0.05) {
            expect(clone.quantile(q)).toBe(reference.quantile(q));
            expect(clone.quantile(q)).toBe(original.quantile(q));
          }
          const reencoded = MetricSketch.decode(clone.encode());
          expect(reencoded.count).toBe(first.length + later.length);
          expect(reencoded.quantile(0.5)).toBe(reference.quantile(0.5));
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('BaselineShard', () => {
  it('clones: learning into the copy equals learning into a decoded shard, and leaves the original', () => {
    const shard = new BaselineShard(spec);
    for (let i = 0; i < 50; i++)
      shard.learn(T0 + i * 1000, [{ metric: 'calls', value: i % 7, endpoint: '/a' }], String(i));
    const before = shard.encode();
    const copy = shard.clone();
    const decoded = BaselineShard.decode(before, spec);
    for (const s of [copy, decoded])
      for (let i = 50; i < 80; i++)
        s.learn(T0 + i * 1000, [{ metric: 'calls', value: i % 11, endpoint: '/a' }], String(i));
    expect(shard.encode()).toBe(before);
    expect(copy.watermark).toBe('79');
    const [a, b] = [copy, decoded].map((s) => new LearnedBaseline(spec, [s]));
    expect(a.count('calls')).toBe(80);
    expect(a.count('calls', '/a')).toBe(b.count('calls', '/a'));
    for (const q of [0.1, 0.5, 0.9, 0.99]) {
      expect(a.quantile('calls', q)).toBe(b.quantile('calls', q));
      expect(a.quantile('calls', q, '/a')).toBe(b.quantile('calls', q, '/a'));
    }
  });

  it('learns a record once: a redelivered offset changes nothing', () => {
    const shard = new BaselineShard(spec);
    expect(shard.learn(T0, [{ metric: 'cv', value: 1 }], '5')).toBe(true);
    expect(shard.learn(T0, [{ metric: 'cv', value: 1 }], '5')).toBe(false);
    expect(shard.learn(T0, [{ metric: 'cv', value: 1 }], '4')).toBe(false);
    const again = BaselineShard.decode(shard.encode(), spec);
    expect(again.learn(T0, [{ metric: 'cv', value: 1 }], '5')).toBe(false);
    expect(again.learn(T0, [{ metric: 'cv', value: 1 }], '6')).toBe(true);
    expect(new LearnedBaseline(spec, [again]).count('cv')).toBe(2);
  });

  it('trims values outside the metric range and ignores unknown metrics and bad numbers', () => {
    const shard = new BaselineShard(spec);
    shard.learn(T0, [
      { metric: 'cv', value: 21 },
      { metric: 'cv', value: -1 },
      { metric: 'cv', value: Number.NaN },
      { metric: 'nope', value: 1 },
      { metric: 'cv', value: 3 },
    ]);
    const view = new LearnedBaseline(spec, [shard]);
    expect(view.count('cv')).toBe(1);
    expect(view.count('nope')).toBe(0);
  });

  it('keeps the last `epochs` event-time epochs and forgets older ones', () => {
    const shard = new BaselineShard(spec);
    for (let d = 0; d < 5; d++) shard.learn(T0 + d * DAY, [{ metric: 'cv', value: d + 1 }]);
    expect([...shard.epochs.keys()]).toEqual([T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]);
    // A late record older than the retained epochs is not learned.
    shard.learn(T0, [{ metric: 'cv', value: 9 }]);
    expect(new LearnedBaseline(spec, [shard]).count('cv')).toBe(3);
  });

  it('learns endpoints up to maxEndpoints, replacing one seen only once, and always the app scope', () => {
    const shard = new BaselineShard(spec);
    shard.learn(T0, [{ metric: 'calls', value: 1, endpoint: 'GET /a' }]);
    shard.learn(T0, [{ metric: 'calls', value: 1, endpoint: 'GET /a' }]);
    shard.learn(T0, [{ metric: 'calls', value: 1, endpoint: 'GET /probe1' }]);
    shard.learn(T0, [{ metric: 'calls', value: 1, endpoint: 'GET /probe2' }]);
    const view = new LearnedBaseline(spec, [shard]);
    expect(view.count('calls', 'GET /a')).toBe(2);
    expect(view.count('calls', 'GET /probe1')).toBe(0);
    expect(view.count('calls', 'GET /probe2')).toBe(1);
    expect(view.count('calls', APP_SCOPE)).toBe(4);
  });

  it('decodes garbage as an empty shard instead of failing', () => {
    for (const raw of ['{not json', '42', '{"v":2}', 'null'])
      expect(BaselineShard.decode(raw, spec).epochs.size).toBe(0);
  });
});

describe('LearnedBaseline', () => {
  it('merges the shards of all partitions over the retained epochs', () => {
    const shards = [0, 1, 2].map(() => new BaselineShard(spec));
    shards.forEach((shard, p) => {
      for (let i = 0; i < 100; i++) shard.learn(T0, [{ metric: 'calls', value: p * 100 + i + 1 }]);
    });
    const view = new LearnedBaseline(spec, shards);
    expect(view.count('calls')).toBe(300);
    expect(view.quantile('calls', 0.5)).toBeGreaterThan(145);
    expect(view.quantile('calls', 0.5)).toBeLessThan(155);
    // A shard whose newest epoch is far ahead retires the others' old epochs.
    const ahead = new BaselineShard(spec);
    ahead.learn(T0 + 10 * DAY, [{ metric: 'calls', value: 1 }]);
    expect(new LearnedBaseline(spec, [...shards, ahead]).count('calls')).toBe(1);
  });
});

describe('refineThreshold', () => {
  const options = {
    metric: 'cv',
    prior: 10,
    quantile: 0.5,
    factor: 2,
    min: 5,
    max: 30,
    minObservations: 50,
  };

  it('uses the prior until enough was learned', () => {
    expect(refineThreshold(undefined, options)).toEqual({
      value: 10,
      observations: 0,
      source: 'prior',
    });
    expect(refineThreshold(EMPTY_BASELINE, options).source).toBe('prior');
    const local = new LocalBaseline({ metrics: { cv: {} } });
    for (let i = 0; i < 49; i++) local.learn('a', T0, [{ metric: 'cv', value: 100 }]);
    local.refresh();
    expect(refineThreshold(local.view('a'), options)).toMatchObject({
      value: 10,
      observations: 49,
    });
  });

  it('moves the threshold with the learned quantile but never past its bounds', () => {
    const local = new LocalBaseline({ metrics: { cv: {} } });
    for (let i = 0; i < 60; i++) local.learn('a', T0, [{ metric: 'cv', value: 6 }]);
    for (let i = 0; i < 60; i++) local.learn('b', T0, [{ metric: 'cv', value: 1_000 }]);
    for (let i = 0; i < 60; i++) local.learn('c', T0, [{ metric: 'cv', value: 0.1 }]);
    local.refresh();
    const a = refineThreshold(local.view('a'), options);
    expect(a.source).toBe('learned');
    expect(a.value).toBeCloseTo(12, 0);
    expect(a.baseline).toBeCloseTo(6, 0);
    expect(refineThreshold(local.view('b'), options).value).toBe(30);
    expect(refineThreshold(local.view('c'), options).value).toBe(5);
  });
});

describe('learning policy', () => {
  it('learns a session at its first checkpoint and every doubling: log2(n) times at most', () => {
    const checkpoints = Array.from({ length: 1000 }, (_, i) => i + 1).filter((n) =>
      isLearningCheckpoint(n, 20),
    );
    expect(checkpoints).toEqual([20, 40, 80, 160, 320, 640]);
    expect(isLearningCheckpoint(5, 0)).toBe(false);
  });

  it('grants a client IP perEpoch observations per epoch, resets with the next, and none for late events', () => {
    const options = { epochMs: DAY, perEpoch: 2 };
    let quota;
    const granted: boolean[] = [];
    for (const ts of [T0, T0 + 1, T0 + 2, T0 + DAY, T0 + 5]) {
      const taken = takeLearningQuota(quota, ts, options);
      granted.push(taken.granted);
      quota = taken.quota;
    }
    expect(granted).toEqual([true, true, false, true, false]);
  });
});
