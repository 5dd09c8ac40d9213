import { Module, type DynamicModule } from '@nestjs/common';
import { str } from '@moat/config';
import { getDetector, resolveDetectorConfig } from '@moat/detectors';
import {
  DETECTOR_HOST_OPTIONS,
  DetectorHostService,
  HOSTED_DETECTORS,
  type DetectorHostOptions,
  type HostedDetector,
} from './detector-host.service';

export const detectorEnv = {
  MOAT_DETECTOR: str({ desc: 'id of the detector this deployment hosts, e.g. request-rate' }),
  MOAT_DETECTOR_CONFIG: str({
    default: '{}',
    desc: 'JSON overrides of the detector configuration',
  }),
};

/** Resolves detector ids and JSON config overrides; throws one clear line on a bad value. */
export function hostedDetectors(
  ids: string[],
  overrides: Record<string, unknown> = {},
): HostedDetector[] {
  return ids.map((id) => {
    const detector = getDetector(id);
    return { detector, config: resolveDetectorConfig(detector, overrides[id] ?? {}) };
  });
}

/** The detector service: hosts any detector module(s) by configuration. */
@Module({})
export class DetectorHostModule {
  /** options.shards: baseline shards read per application (≥ the events topic's partitions). */
  static register(hosted: HostedDetector[], options: DetectorHostOptions = {}): DynamicModule {
    return {
      module: DetectorHostModule,
      providers: [
        { provide: HOSTED_DETECTORS, useValue: hosted },
        { provide: DETECTOR_HOST_OPTIONS, useValue: options },
        DetectorHostService,
      ],
    };
  }
}
