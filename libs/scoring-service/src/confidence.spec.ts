import type { DetectorId } from '@moat/contracts';
import { confidenceByType, type TypeConfidence, type Verdict } from './confidence';

const T = 1_764_000_000_000;
const HOUR = 3_600_000;

const bot = (ts = T, score = 1): Verdict => ({ verdict: 'bot', score, ts, evidence: [] });
const clean = (ts = T): Verdict => ({ verdict: 'clean', score: 0, ts, evidence: [] });

function byType(result: TypeConfidence[]) {
  return Object.fromEntries(result.map((r) => [r.botType, r]));
}

describe('confidenceByType', () => {
  it('is zero for every type when no detector worked', () => {
    const result = confidenceByType({}, T, HOUR);
    expect(result).toHaveLength(5);
    for (const r of result) expect(r).toMatchObject({ confidence: 0, worked: 0, contributors: [] });
  });

  it('counts only the detectors that worked: one bot vote alone is full confidence in its types', () => {
    const result = byType(confidenceByType({ 'request-rate': bot() }, T, HOUR));
    expect(result.scraping).toMatchObject({ confidence: 1, worked: 1 });
    expect(result['security-crawler'].confidence).toBe(1);
    expect(result['unrestricted-resource-consumption'].confidence).toBe(1);
    expect(result['suspicious-api-activity'].confidence).toBe(1);
    expect(result['account-takeover']).toMatchObject({ confidence: 0, worked: 0 });
    expect(result.scraping.contributors).toEqual([{ detector: 'request-rate', weight: 1 }]);
  });

  it('is votes gained over votes possible among the detectors that worked', () => {
    const result = byType(
      confidenceByType(
        {
          'request-rate': bot(),
          'request-uniqueness': clean(),
          'query-abuse': clean(),
          'wide-scope': bot(),
        },
        T,
        HOUR,
      ),
    );
    expect(result.scraping).toMatchObject({ confidence: 0.5, worked: 4 });
    expect(result['security-crawler']).toMatchObject({ confidence: 0.5, worked: 4 });
    expect(result['suspicious-api-activity']).toMatchObject({ confidence: 1 / 3, worked: 3 });
    expect(result.scraping.contributors.map((c) => c.detector)).toEqual([
      'request-rate',
      'wide-scope',
    ]);
  });

  it('scales a bot vote by its score', () => {
    const result = byType(
      confidenceByType({ 'request-rate': bot(T, 0.4), 'request-uniqueness': clean() }, T, HOUR),
    );
    expect(result.scraping.confidence).toBeCloseTo(0.2);
  });

  it('drops verdicts older than the horizon, in event time', () => {
    const verdicts = { 'request-rate': bot(T - HOUR), 'request-uniqueness': clean(T - HOUR - 1) };
    const result = byType(confidenceByType(verdicts, T, HOUR));
    expect(result.scraping).toMatchObject({ confidence: 1, worked: 1 }); // exactly at the horizon still counts
    expect(byType(confidenceByType(verdicts, T + 1, HOUR)).scraping).toMatchObject({
      confidence: 0,
      worked: 0,
    });
  });

  it('applies weights per bot type', () => {
    const verdicts: Partial<Record<DetectorId, Verdict>> = {
      'request-rate': bot(),
      'request-uniqueness': clean(),
    };
    const result = byType(
      confidenceByType(verdicts, T, HOUR, {
        scraping: { 'request-rate': 3 },
        'security-crawler': { 'request-uniqueness': 3 },
      }),
    );
    expect(result.scraping.confidence).toBe(0.75);
    expect(result.scraping.contributors).toEqual([{ detector: 'request-rate', weight: 3 }]);
    expect(result['security-crawler'].confidence).toBe(0.25);
    expect(result['suspicious-api-activity'].confidence).toBe(0.5);
  });

  it('ignores a verdict from a detector that does not serve the type', () => {
    const result = byType(confidenceByType({ 'credential-stuffing': bot() }, T, HOUR));
    expect(result['account-takeover'].confidence).toBe(1);
    expect(result.scraping).toMatchObject({ confidence: 0, worked: 0 });
  });
});
