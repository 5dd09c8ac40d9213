/**
 * A mergeable quantile sketch with relative-error guarantees (DDSketch, @datadog/sketches-js),
 * plus the exact count and sum it does not keep through serialisation.
 */
import { DDSketch } from '@datadog/sketches-js';

export class MetricSketch {
  /**
   * The encoded form while the sketch is unchanged since it was decoded or encoded: a baseline
   * shard is written after every batch, and most of its sketches did not change in it
   * (@datadog/sketches-js's protobuf round trip costs ~50 µs a sketch).
   */
  private encoded: EncodedSketch | undefined;

  private constructor(
    readonly sketch: DDSketch,
    public count: number,
    public sum: number,
  ) {}

  static empty(relativeAccuracy: number): MetricSketch {
    const sketch = new DDSketch({ relativeAccuracy });
    sketch.mapping = storedMapping(relativeAccuracy);
    return new MetricSketch(sketch, 0, 0);
  }

  static decode(encoded: EncodedSketch): MetricSketch {
    const sketch = DDSketch.fromProto(Buffer.from(encoded.s, 'base64'));
    const decoded = new MetricSketch(sketch, encoded.n, encoded.sum);
    decoded.encoded = encoded;
    return decoded;
  }

  /** An independent copy (same bins, counts and encoded form), without a protobuf round trip. */
  clone(): MetricSketch {
    const { mapping } = this.sketch;
    const sketch = new DDSketch({ relativeAccuracy: mapping.relativeAccuracy });
    sketch.mapping = mapping; // immutable: shared, so the copy maps values as this does
    sketch.merge(this.sketch);
    const copy = new MetricSketch(sketch, this.count, this.sum);
    copy.encoded = this.encoded;
    return copy;
  }

  add(value: number): void {
    // DDSketch keeps zero apart and negatives in their own store; metrics here are >= 0.
    this.sketch.accept(value);
    this.count += 1;
    this.sum += value;
    this.encoded = undefined;
  }

  merge(other: MetricSketch): void {
    this.sketch.merge(other.sketch);
    this.count += other.count;
    this.sum += other.sum;
    this.encoded = undefined;
  }

  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    return this.sketch.getValueAtQuantile(Math.min(1, Math.max(0, q)));
  }

  mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }

  encode(): EncodedSketch {
    this.encoded ??= {
      n: this.count,
      sum: this.sum,
      s: Buffer.from(this.sketch.toProto()).toString('base64'),
    };
    return this.encoded;
  }
}

const mappings = new Map<number, DDSketch['mapping']>();

/**
 * The value↔bucket mapping a sketch of `relativeAccuracy` has once stored and read back: the
 * protobuf form keeps gamma, from which the reader recomputes the rest, a few ulps off the
 * constructor's. New sketches start with it, so a shard answers the same whether it was learned
 * in this process or read from the store.
 */
function storedMapping(relativeAccuracy: number): DDSketch['mapping'] {
  let mapping = mappings.get(relativeAccuracy);
  if (!mapping) {
    const fresh = new DDSketch({ relativeAccuracy });
    mapping = DDSketch.fromProto(fresh.toProto()).mapping;
    mappings.set(relativeAccuracy, mapping);
  }
  return mapping;
}

/** JSON form: exact count and sum, and the sketch as base64 protobuf (DDSketch's own format). */
export interface EncodedSketch {
  n: number;
  sum: number;
  s: string;
}
