import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOT_TYPE_DETECTORS, BOT_TYPES } from '@moat/contracts';
import { DEFAULT_WEIGHTS } from './default-weights';
import { ScoringPolicy } from './policy';
import { loadWeights, parseWeights } from './weights';

/** The weights table docs/SCORING.md shows between its calibration markers. */
function documentedWeights(): Record<string, Record<string, number>> {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'SCORING.md'), 'utf8');
  const start = doc.indexOf('<!-- calibration:start');
  const end = doc.indexOf('<!-- calibration:end -->');
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const table: Record<string, Record<string, number>> = {};
  for (const line of doc.slice(start, end).split('\n')) {
    const m = /^\| ([a-z-]+) \| ([a-z-]+) \| \*\*([\d.]+)\*\* \|/.exec(line);
    if (m) (table[m[1]] ??= {})[m[2]] = Number(m[3]);
  }
  return table;
}

describe('the calibrated default weights', () => {
  it('are the table docs/SCORING.md shows, one weight per detector of every bot type', () => {
    const documented = documentedWeights();
    expect(DEFAULT_WEIGHTS).toEqual(documented);
    for (const type of BOT_TYPES)
      expect(Object.keys(documented[type] ?? {}).sort()).toEqual(
        [...BOT_TYPE_DETECTORS[type]].sort(),
      );
  });

  it('are what scoring uses when no weights file is given', () => {
    expect(new ScoringPolicy({ profiles: [] }).weights).toBe(DEFAULT_WEIGHTS);
    expect(ScoringPolicy.fromConfig([], []).weights).toBe(DEFAULT_WEIGHTS);
  });

  it('pass the weights-file validation', () => {
    expect(parseWeights(DEFAULT_WEIGHTS)).toEqual(DEFAULT_WEIGHTS);
  });

  it('are what a weights file is laid over, entry by entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moat-weights-'));
    const file = join(dir, 'w.json');
    writeFileSync(file, JSON.stringify({ scraping: { 'request-rate': 0.123 } }));
    const merged = loadWeights(file);
    expect(merged.scraping?.['request-rate']).toBe(0.123);
    expect(merged['account-takeover']).toEqual(DEFAULT_WEIGHTS['account-takeover']);
    expect(merged.scraping?.['wide-scope']).toBe(DEFAULT_WEIGHTS.scraping?.['wide-scope']);
  });
});
