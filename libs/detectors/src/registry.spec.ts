import { DETECTOR_IDS } from '@moat/contracts';
import { availableDetectors, DETECTORS, getDetector } from './registry';
import { requestRateDetector } from './request-rate/request-rate.detector';

describe('detector registry', () => {
  it('finds a detector by id', () => {
    expect(getDetector('request-rate')).toBe(requestRateDetector);
  });

  it('names the unknown id and lists the available detectors', () => {
    expect(() => getDetector('request-rat')).toThrow(
      `Unknown detector "request-rat"; available: ${availableDetectors().join(', ')}.`,
    );
    expect(() => getDetector('request-rat')).toThrow(/available: .*\brequest-rate\b/);
  });

  it('does not treat inherited object properties as detectors', () => {
    expect(() => getDetector('constructor')).toThrow(/Unknown detector "constructor"/);
    expect(() => getDetector('__proto__')).toThrow(/Unknown detector "__proto__"/);
  });

  it('registers every module under its own id, which is one of the 18 contract ids', () => {
    for (const id of availableDetectors()) {
      expect(DETECTOR_IDS).toContain(id);
      expect(DETECTORS[id]!.id).toBe(id);
    }
    expect(availableDetectors()).toContain('request-rate');
  });

  it('hosts all 18 detectors of the contract', () => {
    expect([...availableDetectors()].sort()).toEqual([...DETECTOR_IDS].sort());
  });
});
