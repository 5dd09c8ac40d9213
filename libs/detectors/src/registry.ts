/**
 * Every detector module by id. The detector service hosts whichever MOAT_DETECTOR names;
 * adding a detector means adding its module here, nothing in the kit or the service.
 */
import type { DetectorId } from '@moat/contracts';
import type { AnyDetector } from './detector';
import { requestRateDetector } from './request-rate/request-rate.detector';

export const DETECTORS: Partial<Record<DetectorId, AnyDetector>> = {
  'request-rate': requestRateDetector,
};

export function availableDetectors(): DetectorId[] {
  return Object.keys(DETECTORS) as DetectorId[];
}

export function getDetector(id: string): AnyDetector {
  const detector = Object.hasOwn(DETECTORS, id) ? DETECTORS[id as DetectorId] : undefined;
  if (!detector) {
    throw new Error(`Unknown detector "${id}"; available: ${availableDetectors().join(', ')}.`);
  }
  return detector;
}
