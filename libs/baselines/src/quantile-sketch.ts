/**
 * A mergeable quantile sketch with relative-error guarantees (DDSketch, @datadog/sketches-js),
 * plus the exact count and sum it does not keep through serialisation.
 */
import { DDSketch } from '@datadog/sketches-js';

export class MetricSketch {
  private constructor(
    readonly sketch: DDSketch,
    public count: number,
    public sum: number,
  ) {}

  static empty(relativeAccuracy: number): MetricSketch {
    return new MetricSketch(new DDSketch({ relativeAccuracy }), 0, 0);
  }

  static decode(encoded: EncodedSketch): MetricSketch {
    const sketch = DDSketch.fromProto(Buffer.from(encoded.s, 'base64'));
    return new MetricSketch(sketch, encoded.n, encoded.sum);
  }

  add(value: number): void {
    // DDSketch keeps zero apart and negatives in their own store; metrics here are >= 0.
    this.sketch.accept(value);
    this.count += 1;
    this.sum += value;
  }

  merge(other: MetricSketch): void {
    this.sketch.merge(other.sketch);
    this.count += other.count;
    this.sum += other.sum;
  }

  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    return this.sketch.getValueAtQuantile(Math.min(1, Math.max(0, q)));
  }

  mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }

  encode(): EncodedSketch {
    return {
      n: this.count,
      sum: this.sum,
      s: Buffer.from(this.sketch.toProto()).toString('base64'),
    };
  }
}

/** JSON form: exact count and sum, and the sketch as base64 protobuf (DDSketch's own format). */
export interface EncodedSketch {
  n: number;
  sum: number;
  s: string;
}
