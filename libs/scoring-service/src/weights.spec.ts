import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confidenceByType } from './confidence';
import { loadWeights, parseWeights } from './weights';

describe('weights table', () => {
  it('reads a calibration table, bare or under "weights", and it changes the confidence', () => {
    const table = {
      scraping: { 'request-rate': 3, 'request-uniqueness': 1 },
      'security-crawler': { 'wide-scope': 0 },
    };
    expect(parseWeights(table)).toEqual(table);
    expect(parseWeights({ weights: table, calibratedOn: 'sim-42' })).toEqual(table);
    const dir = mkdtempSync(join(tmpdir(), 'moat-weights-'));
    writeFileSync(join(dir, 'w.json'), JSON.stringify(table));
    const weights = loadWeights(join(dir, 'w.json'));
    const verdicts = {
      'request-rate': { verdict: 'bot' as const, score: 1, ts: 0, evidence: [] },
      'request-uniqueness': { verdict: 'clean' as const, score: 0, ts: 0, evidence: [] },
    };
    const scraping = confidenceByType(verdicts, 0, 1000, weights).find(
      (c) => c.botType === 'scraping',
    );
    expect(scraping?.confidence).toBe(0.75);
  });

  it.each([
    [{ scrapers: {} }, /weights\/scrapers: unknown bot type/],
    [
      { scraping: { 'credential-stuffing': 1 } },
      /weights\/scraping\/credential-stuffing: not a detector of scraping/,
    ],
    [
      { scraping: { 'request-rate': -1 } },
      /weights\/scraping\/request-rate: expected a finite number ≥ 0, got -1/,
    ],
    [
      { scraping: { 'request-rate': '2' } },
      /weights\/scraping\/request-rate: expected a finite number/,
    ],
    [{ scraping: [] }, /weights\/scraping: expected an object of detectors/],
    [[], /expected an object of bot types/],
  ])('names the wrong entry of %j', (table, message) => {
    expect(() => parseWeights(table)).toThrow(message);
  });

  it('says which file it cannot read or parse', () => {
    expect(() => loadWeights('/nonexistent/w.json')).toThrow(
      /cannot read weights file \/nonexistent\/w.json/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'moat-weights-'));
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => loadWeights(join(dir, 'bad.json'))).toThrow(/is not JSON/);
  });
});
